// recueil console: keyboard shortcuts, audio seeking and the review claim.
// Progressive enhancement only: every action also works without this script.
(function () {
  'use strict';
  var body = document.body;

  // A batch whose pages are still being processed: look again in a moment.
  if (body.dataset.refresh) {
    window.setTimeout(function () { window.location.reload(); }, 1000 * parseInt(body.dataset.refresh, 10));
  }
  if (body.dataset.page === 'upload') { upload(); return; }
  if (body.dataset.page !== 'item') { return; }

  var form = document.getElementById('review-form');
  var rejectForm = document.getElementById('reject-form');
  var text = document.getElementById('text');
  var reason = document.getElementById('reason');
  var audio = document.getElementById('player');
  var page = document.getElementById('page-image');
  var banner = document.getElementById('claim-banner');

  function submit(buttonId) {
    var b = document.getElementById(buttonId);
    if (form && b && !b.disabled) { form.requestSubmit(b); }
  }
  function go(where) {
    var url = body.dataset[where];
    if (url) { window.location.href = url; }
  }
  function toggle(n) {
    var box = document.getElementById('q' + n);
    if (box && !box.disabled) { box.checked = !box.checked; box.focus(); }
  }

  // Clicking a transcript segment plays the recording from there.
  document.querySelectorAll('[data-seek]').forEach(function (el) {
    el.addEventListener('click', function () {
      if (!audio) { return; }
      audio.currentTime = parseFloat(el.dataset.seek);
      audio.play();
    });
  });
  if (audio) {
    var segs = Array.prototype.slice.call(document.querySelectorAll('[data-seek]'));
    audio.addEventListener('timeupdate', function () {
      var t = audio.currentTime, current = null;
      segs.forEach(function (s) { if (parseFloat(s.dataset.seek) <= t) { current = s; } });
      segs.forEach(function (s) { s.classList.toggle('current', s === current); });
    });
  }
  if (page) {
    page.addEventListener('click', function () { page.classList.toggle('zoomed'); });
  }
  if (reason) {
    reason.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') { e.preventDefault(); rejectForm.requestSubmit(); }
    });
  }

  document.addEventListener('keydown', function (e) {
    var t = e.target;
    var typing = t.matches && t.matches('textarea, input[type=text], input[type=password], select');
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit('btn-save'); return; }
    if (e.key === 'Escape' && typing) { t.blur(); return; }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) { return; }
    switch (e.key) {
      case 'j': go('next'); break;
      case 'k': go('prev'); break;
      case 'a': submit('btn-approve'); break;
      case 'r': if (reason) { reason.focus(); } break;
      case 'e':
        if (text && !text.disabled) {
          text.focus();
          text.setSelectionRange(text.value.length, text.value.length);
        }
        break;
      case '1': case '2': case '3': toggle(e.key); break;
      case 'z': if (page) { page.classList.toggle('zoomed'); } break;
      case 'p': if (audio) { if (audio.paused) { audio.play(); } else { audio.pause(); } } break;
      case 'ArrowLeft': if (audio) { audio.currentTime = Math.max(0, audio.currentTime - 5); } else { return; } break;
      case 'ArrowRight': if (audio) { audio.currentTime += 5; } else { return; } break;
      default: return;
    }
    e.preventDefault();
  });

  // Keep the claim on this item while the page is open; say so if lost.
  function renew() {
    fetch(body.dataset.claimUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': body.dataset.csrf }
    }).then(function (r) {
      if (r.status === 409) {
        return r.json().then(function (c) {
          banner.textContent = c.by + ' relit maintenant cette contribution : vos changements ne seront pas enregistrés.';
          banner.classList.remove('hidden');
        });
      }
    }).catch(function () { /* offline for a moment: the next renewal tries again */ });
  }
  if (body.dataset.claimUrl) { window.setInterval(renew, 60000); }

  // The upload form, one file per request: each file shows its progress
  // and its result as it goes. Without this script the form posts all the
  // files at once and the server answers with the same results as a page.
  function upload() {
    var uform = document.getElementById('upload-form');
    var list = document.getElementById('upload-progress');
    var done = document.getElementById('upload-done');
    var link = document.getElementById('upload-batch-link');
    if (!uform || !window.FormData || !window.XMLHttpRequest) { return; }
    uform.addEventListener('submit', function (e) {
      var input = document.getElementById('fichiers');
      var files = Array.prototype.slice.call(input.files);
      // The sheets of one letter go together in one request: the form
      // posts them as it does without this script.
      var letter = uform.elements['lettre'];
      if (files.length === 0 || (letter && letter.checked)) { return; }
      e.preventDefault();
      var button = document.getElementById('upload-button');
      button.disabled = true;
      list.innerHTML = '';
      list.classList.remove('hidden');
      done.classList.add('hidden');
      var rows = files.map(function (f) {
        var li = document.createElement('li');
        var name = document.createElement('span');
        name.textContent = f.name;
        var bar = document.createElement('progress');
        bar.max = 100; bar.value = 0;
        var result = document.createElement('span');
        result.className = 'result';
        result.textContent = 'en attente';
        li.appendChild(name); li.appendChild(bar); li.appendChild(result);
        list.appendChild(li);
        return { li: li, bar: bar, result: result };
      });
      var batch = '';
      function send(i) {
        if (i >= files.length) {
          button.disabled = false;
          input.value = '';
          if (batch) {
            link.href = '/depot/lot?lot=' + encodeURIComponent(batch);
            done.classList.remove('hidden');
            link.focus();
          }
          return;
        }
        var data = new FormData();
        ['csrf', 'urne', 'lot'].forEach(function (n) { data.append(n, uform.elements[n].value); });
        data.append('fichiers', files[i], files[i].name);
        var xhr = new XMLHttpRequest();
        xhr.open('POST', '/depot');
        xhr.setRequestHeader('Accept', 'application/json');
        xhr.upload.addEventListener('progress', function (ev) {
          if (ev.lengthComputable) { rows[i].bar.value = Math.round(100 * ev.loaded / ev.total); }
        });
        xhr.addEventListener('load', function () {
          rows[i].bar.value = 100;
          var answer = null;
          try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = null; }
          if (xhr.status === 200 && answer && answer.files && answer.files.length) {
            var f = answer.files[0];
            batch = answer.batch;
            rows[i].li.className = f.outcome;
            rows[i].result.textContent = f.outcome === 'accepted' ? 'reçu, ' + f.pages + ' page(s)'
              : f.outcome === 'duplicate' ? 'déjà reçu (' + f.pages + ' page(s))'
              : 'refusé : ' + f.reason;
          } else {
            rows[i].li.className = 'refused';
            rows[i].result.textContent = (answer && answer.error) ? 'refusé : ' + answer.error
              : 'refusé (réponse ' + xhr.status + ')';
          }
          send(i + 1);
        });
        xhr.addEventListener('error', function () {
          rows[i].li.className = 'refused';
          rows[i].result.textContent = 'envoi impossible (réseau) : renvoyez ce fichier';
          send(i + 1);
        });
        rows[i].result.textContent = 'envoi…';
        xhr.send(data);
      }
      send(0);
    });
  }
})();
