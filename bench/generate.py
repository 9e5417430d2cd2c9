"""Seeded generator of realistic synthetic 科技供需对接 records at any size.

Records are dicts keyed by the column headers of the ingest formats:

* demands  — the 技术需求征集表 (one row per demand, enterprise columns repeated),
* experts  — the expert roster (expert_id, 姓名, 职称, 是否院士, ...),
* societies — the layout of societies.csv (society_id, name, category, ...).

Text is recombined from ``bench/vocab.py`` (and, when ``data/sample`` holds
bundled sample files with the same headers, from their texts), so demands and
experts of one industry share vocabulary as real ones do. The same seed always
gives the same records; each kind has its own random stream, so asking for
more experts does not change the demands.

Python::

    from bench.generate import generate_demands, generate_experts, write_records
    rows = generate_demands(1000, seed=7)
    write_records(rows, "demands.csv")

Command line (from the repository root)::

    python -m bench.generate --out var/synth --demands 250000 --experts 250000 --format csv

Keys starting with ``_`` (``_industry``, the hidden topic) are ground truth for
benchmarks; the writers leave them out unless ``truth=True``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

try:
    from bench import vocab as V
except ModuleNotFoundError:  # run as a script: python bench/generate.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench import vocab as V

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"

DEMAND_HEADERS = (
    "单位名称", "主营业务", "联系人", "手机", "办公电话", "传真", "E-mail", "网址", "联系地址", "邮编",
    "技术需求名称", "具体的技术需求说明", "企业概况", "所在地区", "所属行业",
)
EXPERT_HEADERS = (
    "expert_id", "姓名", "职称", "是否院士", "工作单位", "学科", "研究方向", "主要成果", "关键词",
    "所在地区", "手机", "E-mail", "容量",
)
SOCIETY_HEADERS = ("society_id", "name", "category", "disciplines", "keywords", "representative_work")
HEADERS: dict[str, tuple[str, ...]] = {
    "demands": DEMAND_HEADERS,
    "experts": EXPERT_HEADERS,
    "societies": SOCIETY_HEADERS,
}

# 学科 -> 学科门类, for society categories
_CATEGORY = {
    "电气工程": "工学", "材料科学与工程": "工学", "化学/化学工程与技术": "工学",
    "动力工程及工程热物理": "工学", "电子科学与技术": "工学", "信息与通信工程": "工学",
    "光学工程": "工学", "计算机科学与技术": "工学", "机械工程": "工学", "控制科学与工程": "工学",
    "力学": "工学", "交通运输工程": "工学", "石油与天然气工程": "工学", "环境科学与工程": "工学",
    "纺织科学与工程": "工学", "食品科学与工程": "工学", "农业工程": "工学", "冶金工程": "工学",
    "矿业工程": "工学", "土木工程": "工学", "建筑学": "工学", "水利工程": "工学",
    "船舶与海洋工程": "工学", "物理学": "理学", "生物学/生物科学与工程": "理学", "海洋科学": "理学",
    "地质学/地质资源与地质工程": "理学", "数学": "理学", "药学": "医学", "基础医学/临床医学": "医学",
    "中医学/中药学": "医学", "作物学": "农学", "园艺学": "农学", "植物保护": "农学",
    "农业资源利用": "农学", "林学/林业工程": "农学", "水产": "农学", "畜牧学/兽医学": "农学",
}
_SEP = "；"


# ------------------------------------------------------------------ sample data


@dataclass
class SamplePools:
    """Texts taken from bundled sample files, mixed into generated records."""

    demands: list[tuple[str, str, str]] = field(default_factory=list)  # (title, description, industry)
    expert_areas: list[str] = field(default_factory=list)
    expert_achievements: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.demands or self.expert_areas or self.expert_achievements)


_KNOWN_HEADERS = ("技术需求名称", "姓名", "研究方向")


def _rows_to_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    """Rows of a sheet to dicts; the header is the first of the top 15 rows that
    names a known column (forms carry a title and 填报单位 rows above it)."""
    for i, row in enumerate(rows[:15]):
        cells = [c.strip() for c in row]
        if any(h in cells for h in _KNOWN_HEADERS):
            return [{h: v for h, v in zip(cells, r, strict=False) if h} for r in rows[i + 1 :]]
    return []


def _read_table(path: Path) -> list[dict[str, str]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return _rows_to_dicts(list(csv.reader(fh)))
    if suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, list) else []
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        out: list[dict[str, str]] = []
        for ws in wb.worksheets:
            out.extend(_rows_to_dicts(
                [["" if c is None else str(c) for c in row] for row in ws.iter_rows(values_only=True)]
            ))
        return out
    return []


def load_sample_pools(sample_dir: Path | None = SAMPLE_DIR) -> SamplePools:
    """Collect demand and expert texts from every readable file under ``sample_dir``.

    Unknown layouts are skipped: the sample data only enriches the vocabulary.
    """
    pools = SamplePools()
    if sample_dir is None or not Path(sample_dir).is_dir():
        return pools
    for path in sorted(Path(sample_dir).rglob("*")):
        if not path.is_file():
            continue
        try:
            rows = _read_table(path)
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            continue
        for row in rows:
            if not isinstance(row, dict):
                continue
            title = str(row.get("技术需求名称") or "").strip()
            desc = str(row.get("具体的技术需求说明") or "").strip()
            if title and desc:
                pools.demands.append((title, desc, str(row.get("所属行业") or "").strip()))
            for key, target in (("研究方向", pools.expert_areas), ("主要成果", pools.expert_achievements)):
                value = row.get(key)
                if isinstance(value, list):
                    target.extend(str(v).strip() for v in value if str(v).strip())
                elif value:
                    target.extend(p.strip() for p in str(value).replace(";", _SEP).split(_SEP) if p.strip())
    pools.demands = list(dict.fromkeys(pools.demands))  # the CSV and XLSX samples overlap
    pools.expert_areas = list(dict.fromkeys(pools.expert_areas))
    pools.expert_achievements = list(dict.fromkeys(pools.expert_achievements))
    return pools


# ------------------------------------------------------------------ helpers


def _weighted_cities() -> tuple[str, ...]:
    out: list[str] = []
    for city, w in V.CITY_WEIGHTS.items():
        out.extend([city] * w)
    return tuple(out)


_CITIES = _weighted_cities()
_INDUSTRY_BY_NAME = {ind.name: ind for ind in V.INDUSTRIES}


class _Rand:
    """Thin, fast wrapper of ``random.Random``: everything is derived from
    ``random()``, which is several times cheaper than ``choice``/``randrange``
    (they dominate the generator's run time otherwise)."""

    __slots__ = ("r",)

    def __init__(self, key: str) -> None:
        self.r = random.Random(key).random

    def choice(self, seq: Sequence[str]) -> str:
        return seq[int(self.r() * len(seq))]

    def below(self, n: int) -> int:
        return int(self.r() * n)

    def between(self, lo: int, hi: int) -> int:
        """Integer in [lo, hi)."""
        return lo + int(self.r() * (hi - lo))

    def pick(self, seq: Sequence[str], k: int) -> list[str]:
        """``k`` distinct items (fewer if ``seq`` is shorter)."""
        n = len(seq)
        if k >= n:
            return list(seq)
        if k == 1:
            return [seq[int(self.r() * n)]]
        if k == 2:
            i = int(self.r() * n)
            j = int(self.r() * (n - 1))
            return [seq[i], seq[j + 1 if j >= i else j]]
        idx: list[int] = []
        while len(idx) < k:
            i = int(self.r() * n)
            if i not in idx:
                idx.append(i)
        return [seq[i] for i in idx]

    def mobile(self) -> str:
        return f"1{'3456789'[int(self.r() * 7)]}{int(self.r() * 10**9):09d}"


class _Enterprise:
    __slots__ = ("name", "business", "profile", "website", "address", "postcode", "region",
                 "industry", "phone", "fax", "city")

    def __init__(self, **kw: str | V.Industry) -> None:
        for k, v in kw.items():
            setattr(self, k, v)


def _make_enterprises(n: int, rng: _Rand) -> list[_Enterprise]:
    used: set[str] = set()
    out: list[_Enterprise] = []
    industries = V.INDUSTRIES
    for i in range(n):
        ind = rng.choice(industries)
        city = rng.choice(_CITIES)
        district = rng.choice(V.DISTRICTS[city])
        place = city.removesuffix("市") if city != "平潭综合实验区" else "平潭"
        # names are unique: more brand characters after a collision, a serial number as last resort
        for tries in range(8):
            brand = "".join(rng.choice(V.BRAND_CHARS) for _ in range(2 + tries // 3))
            name = f"{place}{brand}{rng.choice(ind.name_words)}{rng.choice(V.COMPANY_SUFFIXES)}"
            if name not in used:
                break
        else:
            name = f"{place}{brand}{ind.name_words[0]}{i}号有限公司"
        used.add(name)
        p1, p2, p3 = rng.pick(ind.products, 3) if len(ind.products) >= 3 else (ind.products * 3)[:3]
        fmt = {
            "company": name, "year": rng.between(1985, 2023), "capital": 50 * rng.between(1, 1000),
            "p1": p1, "p2": p2, "p3": p3, "staff": rng.between(20, 3000), "rd": 0,
            "patents": rng.between(0, 120), "city": city, "output": round((0.1 + rng.r() * (80 - 0.1)), 1),
            "prov": rng.between(5, 31), "industry": ind.name,
        }
        fmt["rd"] = max(3, int(fmt["staff"] * (0.05 + rng.r() * (0.3 - 0.05))))  # type: ignore[operator]
        code = V.AREA_CODES[city]
        street = rng.choice(V.STREETS)
        out.append(
            _Enterprise(
                name=name,
                business=rng.choice(V.BUSINESS_TEMPLATES).format(**fmt),
                profile=rng.choice(V.PROFILE_TEMPLATES).format(**fmt),
                website=f"www.ent{i:06d}.example.cn" if rng.r() < 0.7 else "",
                address=f"{city}{district}{street}{rng.between(1, 999)}号",
                postcode=f"{V.POSTCODE_PREFIX[city]}{rng.below(1000):03d}",
                region=f"{city}{district}",
                industry=ind,
                phone=f"{code}-{rng.between(2, 9)}{rng.between(10**6, 10**7)}",
                fax=f"{code}-{rng.between(2, 9)}{rng.between(10**6, 10**7)}" if rng.r() < 0.4 else "",
                city=city,
            )
        )
    return out


def _person_name(rng: _Rand) -> str:
    given = rng.choice(V.GIVEN_CHARS)
    if rng.r() < 0.7:
        given += rng.choice(V.GIVEN_CHARS)
    return rng.choice(V.SURNAMES) + given


# ------------------------------------------------------------------ demands


def generate_demands(
    n: int, seed: int = 0, *, sample: SamplePools | None = None, sample_share: float = 0.15
) -> list[dict[str, str]]:
    """``n`` demand rows (技术需求征集表 headers + hidden ``_industry``).

    About 1.6 demands per enterprise; ``sample_share`` of the rows reuse the
    title and description of a bundled sample demand (when ``sample`` has any),
    under a generated enterprise.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = _Rand(f"demands:{seed}")
    enterprises = _make_enterprises(max(1, round(n / 1.6)), rng) if n else []
    samples = sample.demands if sample else []
    by_industry: dict[str, list[_Enterprise]] = {}
    for e in enterprises:
        by_industry.setdefault(e.industry.name, []).append(e)  # type: ignore[union-attr]
    seen: set[tuple[str, str]] = set()  # the importer's dedup key: enterprise and title
    rows: list[dict[str, str]] = []
    r = rng.r
    for _ in range(n):
        ent = rng.choice(enterprises)
        for _attempt in range(20):
            if samples and r() < sample_share:
                title, desc, sample_ind = rng.choice(samples)
                desc = f"{desc}{rng.choice(V.COOPERATION)}方式合作，预期投入{rng.between(10, 500)}万元。"
                # a sample demand goes to an enterprise of its own industry when there is one
                if sample_ind in by_industry:
                    ent = rng.choice(by_industry[sample_ind])
                industry_name = sample_ind or ent.industry.name  # type: ignore[union-attr]
            else:
                title, desc = _demand_text(rng, ent.industry, ent)  # type: ignore[arg-type]
                industry_name = ent.industry.name  # type: ignore[union-attr]
            key = (ent.name, title)
            if key not in seen:
                break
        seen.add(key)
        rows.append(
            {
                "单位名称": ent.name,
                "主营业务": ent.business,
                "联系人": _person_name(rng),
                "手机": rng.mobile(),
                "办公电话": ent.phone,
                "传真": ent.fax,
                "E-mail": f"contact{rng.below(10**6):06d}@ent.example.cn",
                "网址": ent.website,
                "联系地址": ent.address,
                "邮编": ent.postcode,
                "技术需求名称": title,
                "具体的技术需求说明": desc,
                "企业概况": ent.profile,
                "所在地区": ent.region,
                "所属行业": industry_name,
                "_industry": industry_name,
            }
        )
    return rows


def _demand_text(rng: _Rand, ind: V.Industry, ent: _Enterprise) -> tuple[str, str]:
    product = rng.choice(ind.products)
    process = rng.choice(ind.processes)
    problem, problem2 = rng.pick(ind.problems, 2)
    goal, goal2 = rng.pick(ind.goals, 2)
    keyword = rng.choice(ind.keywords)
    title = rng.choice(V.TITLE_TEMPLATES).format(
        product=product, process=process, problem=problem, goal=goal, keyword=keyword
    )
    metric = rng.choice(V.METRIC_TEMPLATES).format(p=rng.between(90, 100), q=rng.between(5, 50))
    parts = [
        f"我公司主要从事{ent.business}。",
        f"目前在{product}{process}环节存在{problem}、{problem2}等问题，{rng.choice(V.CONSEQUENCES)}。",
    ]
    if rng.r() < 0.6:
        parts.append(f"现有工艺采用{rng.choice(ind.processes)}，对{keyword}的控制主要依靠人工经验。")
    parts.append(f"希望{rng.choice(V.APPROACHES)}，{goal}、{goal2}，力争{metric}。")
    if rng.r() < 0.5:
        parts.append(f"需要熟悉{rng.choice(ind.research)}的专家团队，拟以{rng.choice(V.COOPERATION)}方式合作。")
    return title, "".join(parts)


# ------------------------------------------------------------------ experts


def generate_experts(
    n: int, seed: int = 0, *, sample: SamplePools | None = None, academician_share: float = 0.01
) -> list[dict[str, str]]:
    """``n`` expert rows (expert roster headers + hidden ``_industry``)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = _Rand(f"experts:{seed}")
    areas_pool = sample.expert_areas if sample else []
    ach_pool = sample.expert_achievements if sample else []
    rows: list[dict[str, str]] = []
    r = rng.r
    for i in range(n):
        ind = rng.choice(V.INDUSTRIES)
        academician = r() < academician_share
        disciplines = rng.pick(ind.disciplines, 1 if r() < 0.7 else 2)
        areas = rng.pick(ind.research, rng.between(1, 4))
        if areas_pool and r() < 0.2:
            areas.append(rng.choice(areas_pool))
        achievements = []
        for tpl in rng.pick(V.ACHIEVEMENT_TEMPLATES, rng.between(1, 4)):
            achievements.append(
                tpl.format(
                    research=rng.choice(ind.research), keyword=rng.choice(ind.keywords),
                    product=rng.choice(ind.products), process=rng.choice(ind.processes),
                    grade=rng.choice("一二三"), n=rng.between(2, 40), m=rng.between(20, 200),
                    output=round((0.5 + rng.r() * (30 - 0.5)), 1),
                )
            )
        if ach_pool and r() < 0.2:
            achievements.append(rng.choice(ach_pool))
        keywords = rng.pick(ind.keywords, rng.between(3, 7))
        city = rng.choice(_CITIES)
        rows.append(
            {
                "expert_id": f"E{seed:02d}{i:07d}" if seed < 100 else f"E{seed}-{i:07d}",
                "姓名": _person_name(rng),
                "职称": rng.choice(V.ACADEMICIAN_TITLES) if academician else rng.choice(V.TITLES),
                "是否院士": "是" if academician else "否",
                "工作单位": rng.choice(V.AFFILIATIONS),
                "学科": _SEP.join(disciplines),
                "研究方向": _SEP.join(areas),
                "主要成果": _SEP.join(achievements),
                "关键词": _SEP.join(keywords),
                "所在地区": city,
                "手机": rng.mobile(),
                "E-mail": f"expert{i:07d}@univ.example.edu.cn",
                "容量": str(rng.choice((2, 3, 3, 3, 4, 5))),
                "_industry": ind.name,
            }
        )
    return rows


# ------------------------------------------------------------------ societies


def generate_societies(n: int, seed: int = 0) -> list[dict[str, str]]:
    """``n`` society rows in the societies.csv layout; ids G0001.. (no clash with S01..)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = _Rand(f"societies:{seed}")
    disciplines = sorted({d for ind in V.INDUSTRIES for d in ind.disciplines})
    by_discipline = {d: [ind for ind in V.INDUSTRIES if d in ind.disciplines] for d in disciplines}
    rows: list[dict[str, str]] = []
    for i in range(n):
        disc = disciplines[i % len(disciplines)]
        round_no = i // len(disciplines)
        inds = by_discipline[disc]
        short = disc.split("/")[0]
        name = f"福建省{short}学会" if round_no == 0 else f"福建省{short}学会第{round_no}专业委员会"
        kw: list[str] = []
        works: list[str] = []
        for ind in inds:
            kw.extend(rng.pick(ind.keywords, 4))
            kw.extend(rng.pick(ind.research, 2))
            works.append(f"{rng.choice(ind.products)}{rng.choice(ind.processes)}技术研究与应用")
            works.append(f"{rng.choice(ind.research)}研究进展")
        rows.append(
            {
                "society_id": f"G{i + 1:04d}",
                "name": name,
                "category": _CATEGORY.get(disc, "工学"),
                "disciplines": disc,
                "keywords": _SEP.join(dict.fromkeys(kw)),
                "representative_work": _SEP.join(works),
                "_industry": inds[0].name,
            }
        )
    return rows


# ------------------------------------------------------------------ output


def write_records(
    records: Iterable[dict[str, str]], path: str | Path, fmt: str | None = None, *, truth: bool = False
) -> int:
    """Write rows as CSV (UTF-8 with BOM, as Excel exports) or JSONL; returns rows written.

    ``fmt`` defaults to the file suffix. The header is taken from the first row.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown format {fmt!r}: use csv or jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    it = iter(records)
    first = next(it, None)
    if first is None:
        path.write_text("", encoding="utf-8")
        return 0
    keys = [k for k in first if truth or not k.startswith("_")]
    count = 0
    if fmt == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(keys)
            for row in _chain(first, it):
                w.writerow([row.get(k, "") for k in keys])
                count += 1
    else:
        with path.open("w", encoding="utf-8") as fh:
            dumps = json.dumps
            for row in _chain(first, it):
                fh.write(dumps({k: row.get(k, "") for k in keys}, ensure_ascii=False))
                fh.write("\n")
                count += 1
    return count


def _chain(first: dict[str, str], rest: Iterable[dict[str, str]]) -> Iterable[dict[str, str]]:
    yield first
    yield from rest


def generate_files(
    out_dir: str | Path,
    *,
    demands: int = 1000,
    experts: int = 1000,
    societies: int = 0,
    seed: int = 0,
    fmt: str = "csv",
    sample_dir: Path | None = SAMPLE_DIR,
    truth: bool = False,
) -> dict[str, Path]:
    """Generate and write ``demands.<fmt>``, ``experts.<fmt>`` (and ``societies.<fmt>``)."""
    out = Path(out_dir)
    sample = load_sample_pools(sample_dir)
    written: dict[str, Path] = {}
    plan = (
        ("demands", demands, lambda k: generate_demands(k, seed, sample=sample)),
        ("experts", experts, lambda k: generate_experts(k, seed, sample=sample)),
        ("societies", societies, lambda k: generate_societies(k, seed)),
    )
    for kind, count, make in plan:
        if count <= 0:
            continue
        path = out / f"{kind}.{fmt}"
        write_records(make(count), path, fmt, truth=truth)
        written[kind] = path
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generate synthetic demands/experts/societies")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--demands", type=int, default=1000)
    ap.add_argument("--experts", type=int, default=1000)
    ap.add_argument("--societies", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    ap.add_argument("--no-sample", action="store_true", help="ignore data/sample")
    ap.add_argument("--truth", action="store_true", help="also write the hidden _industry column")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    written = generate_files(
        args.out, demands=args.demands, experts=args.experts, societies=args.societies,
        seed=args.seed, fmt=args.format, sample_dir=None if args.no_sample else SAMPLE_DIR,
        truth=args.truth,
    )
    dt = time.perf_counter() - t0
    total = args.demands + args.experts + args.societies
    for kind, path in written.items():
        print(f"{kind}: {path}")
    print(f"{total} rows in {dt:.1f}s ({total / dt:,.0f} rows/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
