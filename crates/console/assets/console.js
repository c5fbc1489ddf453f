// recueil console: keyboard shortcuts, audio seeking and the review claim.
// Progressive enhancement only: every action also works without this script.
(function () {
  'use strict';
  var body = document.body;
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
})();
