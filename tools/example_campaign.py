"""Writes examples/: the 2021 Rajasthan by-election campaign, replayed, with two weeks of daily content.

Run `python -m tools.example_campaign` after changing this file; a test checks examples/ matches it.
Every person, phone number, page id and announcement in the output is FICTITIOUS, made for the demo.
Only the constituencies, their districts and the poll and counting dates are real.
"""

from __future__ import annotations

import struct
import zlib
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "examples"
FIRST_DAY = date(2021, 3, 3)
DAYS = 14

DISTRICTS = [("bhilwara", "भीलवाड़ा", "Bhilwara"), ("udaipur", "उदयपुर", "Udaipur"), ("churu", "चूरू", "Churu"),
             ("rajsamand", "राजसमंद", "Rajsamand")]
# id, Hindi name, English name, district, poll closes, counting
CONSTITUENCIES = [
    ("sahada", "सहाड़ा", "Sahada", "bhilwara", "2021-04-17T18:00:00+05:30", "2021-05-02"),
    ("vallabhnagar", "वल्लभनगर", "Vallabhnagar", "udaipur", "2021-10-30T18:00:00+05:30", "2021-11-02"),
    ("sujangarh", "सुजानगढ़", "Sujangarh", "churu", "2021-04-17T18:00:00+05:30", "2021-05-02"),
    ("rajsamand", "राजसमंद", "Rajsamand", "rajsamand", "2021-04-17T18:00:00+05:30", "2021-05-02"),
]
FIRST_NAMES = ["अमित", "सुनीता", "राकेश", "पूजा", "महेंद्र", "कविता", "दिनेश", "रेखा", "सुरेश", "अनीता", "विक्रम",
               "मंजू", "हरीश", "सीमा", "गोपाल", "नीतू", "प्रकाश", "ललिता", "मुकेश", "संगीता", "रमेश"]
LAST_NAMES = ["शर्मा", "मीणा", "जाट", "राठौड़", "गुर्जर", "सैनी", "चौधरी", "पालीवाल", "जैन", "माली"]

# (Hindi, English) — invented examples of the kinds of items the IT cell shared daily.
BUDGET = [
    ("{hi} में नया राजकीय महाविद्यालय", "a new government college in {en}"),
    ("{hi} के 120 गाँवों तक पाइप से पेयजल", "piped drinking water for 120 villages of {en}"),
    ("{hi} सामुदायिक स्वास्थ्य केंद्र 100 बिस्तरों तक", "{en} community health centre raised to 100 beds"),
    ("{hi} में 45 किमी नई ग्रामीण सड़कें", "45 km of new rural roads in {en}"),
    ("{hi} में बालिका छात्रावास", "a girls' hostel in {en}"),
    ("{hi} के किसानों के लिए सोलर पंप अनुदान", "solar pump grants for farmers of {en}"),
    ("{hi} में कृषि उपज मंडी का विस्तार", "a larger agricultural market yard in {en}"),
]
WORKS = [
    ("{hi} में 3 नए उप-स्वास्थ्य केंद्र शुरू", "3 new sub-health centres opened in {en}"),
    ("{hi} की 18 स्कूलों में स्मार्ट कक्षाएँ", "smart classrooms in 18 schools of {en}"),
    ("{hi} में 2,400 घरों को बिजली कनेक्शन", "electricity connections for 2,400 homes in {en}"),
    ("{hi} में 12 तालाबों का जीर्णोद्धार", "12 village ponds restored in {en}"),
    ("{hi} बस स्टैंड का नवीनीकरण पूरा", "{en} bus stand renovation completed"),
    ("{hi} में 5,000 नए पेंशन लाभार्थी", "5,000 new pension beneficiaries in {en}"),
    ("{hi} में इंदिरा रसोई की 4 नई शाखाएँ", "4 new community kitchens in {en}"),
]


def member_list(prefix: str, count: int, phone_base: int, roles: list[str]) -> list[str]:
    lines = []
    for n in range(count):
        first = FIRST_NAMES[(n + phone_base) % len(FIRST_NAMES)]
        last = LAST_NAMES[(n * 3 + phone_base) % len(LAST_NAMES)]
        role = roles[n] if n < len(roles) else "member"
        lines.append(f'      - {{id: {prefix}-{n + 1:02d}, name: {first} {last}, role: {role}, '
                     f'phone: "+91900{phone_base:02d}{n + 1:05d}"}}')
    return lines


def campaign_yaml() -> str:
    out = ["# The 2021 Rajasthan by-election campaign, replayed by the Prachar demo.",
           "# Real: the constituencies, their districts, and the poll and counting dates.",
           "# FICTITIOUS: every person, phone number, page/user/phone-number id and secret below.",
           "campaign: rajasthan-bypolls-2021", "timezone: Asia/Kolkata", "districts:"]
    out += [f"  - {{id: {d}, name: {hi}}}" for d, hi, _ in DISTRICTS]
    out.append("constituencies:")
    for cid, hi, _en, district, poll, counting in CONSTITUENCIES:
        out += [f"  - id: {cid}", f"    name: {hi}", f"    district: {district}", f"    poll_closes: {poll}",
                "    silence_hours: 48", f"    counting: {counting}"]
    out += ["teams:", "  - id: state-it-cell", "    scope: state", "    members:"]
    out += member_list("state", 5, 10, ["coordinator", "coordinator", "lead"])
    for index, (did, _hi, _en) in enumerate(DISTRICTS):
        out += [f"  - id: {did}-district-it-cell", f"    scope: district/{did}", "    members:"]
        out += member_list(f"{did}-d", 5, 20 + index, ["lead"])
    for index, (cid, *_rest) in enumerate(CONSTITUENCIES):
        out += [f"  - id: {cid}-it-cell", f"    scope: constituency/{cid}", "    members:"]
        out += member_list(cid, 21, 30 + index, ["lead"])
    out += ["approval:", "  constituency: lead", "  district: lead", "  state: coordinator",
            "whatsapp_templates:          # approved by Meta for the campaign's number (fictitious)",
            "  - {name: budget_update, params: 2, language: hi}",
            "  - {name: daily_kit, params: 1, language: hi}",
            "  - {name: prachar_coverage_gaps, params: 2, language: hi}   # the evening coverage alert to coordinators",
            "  - {name: prachar_daily_report, params: 4, language: hi}    # the daily report's summary to coordinators",
            "audience:                    # voters who opted in to WhatsApp updates (audience/<constituency>/…csv)",
            "  notices: [v1]              # the privacy notices the campaign gave, by version",
            "  retention_days: 30         # contacts are erased 30 days after a constituency's counting",
            "  messaging_limit: 1000      # the business portfolio's WhatsApp limit: people reached a rolling day",
            "daily_slots:                 # when a daily series publishes its next item (IST)",
            "  constituency: [\"07:30\"]",
            "accounts:"]
    scopes = [("state", "state")] + [(f"district/{d}", d) for d, *_ in DISTRICTS] + \
             [(f"constituency/{c}", c) for c, *_ in CONSTITUENCIES]
    for number, (scope, short) in enumerate(scopes, start=1):
        for platform, field, prefix, base in (("facebook", "page_id", "fb", 100000000000000),
                                              ("x", "user_id", "x", 1400000000000000000),
                                              ("whatsapp", "phone_number_id", "wa", 110000000000000)):
            account_id = f"{prefix}-{short}" if scope != f"district/{short}" else f"{prefix}-{short}-district"
            out.append(f'  - {{id: {account_id}, scope: {scope}, platform: {platform}, '
                       f'{field}: "{base + number}", secret: "/prachar/{{stage}}/accounts/{account_id}"}}')
    return "\n".join(out) + "\n"


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def constituency_posts(index: int, cid: str, hi: str, en: str) -> dict[str, str]:
    files = {}
    for day in range(DAYS):
        when = FIRST_DAY + timedelta(days=day)
        budget = day % 2 == 0
        pool = BUDGET if budget else WORKS
        item_hi, item_en = (s.format(hi=hi, en=en) for s in pool[(day // 2 + index) % len(pool)])
        kind_hi, kind_en = ("बजट घोषणा", "Budget 2021-22") if budget else ("विकास कार्य", "Development works")
        series = "budget-2021" if budget else "vikas-karya"
        slug = f"{when.isoformat()}-{'budget' if budget else 'works'}"
        text_hi = (f"{kind_hi}: {item_hi}। राज्य बजट 2021-22 और पिछले दो वर्षों के काम {hi} के हर गाँव तक "
                   f"पहुँच रहे हैं। #{en}Vikas")
        x_text = f"{kind_en}: {item_en}. #{en}Vikas"
        link = f"https://example.org/{series}/{cid}/{when.isoformat()}"
        with_image = day % 3 == 1
        lines = [f"title: {quoted(f'{kind_hi} — {item_hi}')}", f"text: {quoted(text_hi)}", f"link: {link}",
                 f"publish_at: {when.isoformat()}T09:00:00+05:30", f"series: {series}"]
        if with_image:
            lines[3:3] = [f"media: [{slug}.png]"]
            files[f"{when:%Y-%m}/{slug}.png"] = "PNG"
        lines += ["overrides:", f"  x: {{text: {quoted(x_text)}}}"]
        files[f"{when:%Y-%m}/{slug}.yaml"] = "\n".join(lines) + "\n"
    return files


def district_posts(index: int, did: str, hi: str, en: str) -> dict[str, str]:
    files = {}
    for day in range(0, DAYS, 2):
        when = FIRST_DAY + timedelta(days=day)
        item_hi, item_en = (s.format(hi=hi, en=en) for s in WORKS[(day // 2 + index) % len(WORKS)])
        files[f"{when:%Y-%m}/{when.isoformat()}-roundup.json"] = (
            "{\n"
            f'  "title": {quoted(f"{hi} जिला — सप्ताह के विकास कार्य")},\n'
            f'  "text": {quoted(f"{hi} जिले में विकास की रफ़्तार: {item_hi}। पूरी सूची के लिए लिंक देखें।")},\n'
            f'  "link": "https://example.org/vikas-karya/{did}/{when.isoformat()}",\n'
            f'  "publish_at": "{when.isoformat()}T12:30:00+05:30",\n'
            f'  "series": "vikas-karya",\n'
            f'  "overrides": {{"x": {{"text": {quoted(f"{en} district: {item_en}. #RajasthanVikas")}}},\n'
            f'                "whatsapp": {{"template": "daily_kit", "language": "hi", "params": [{quoted(hi)}]}}}}\n'
            "}\n")
    return files


def state_posts() -> dict[str, str]:
    files = {}
    for day in range(DAYS):
        when = FIRST_DAY + timedelta(days=day)
        item_hi, item_en = (s.format(hi="उपचुनाव क्षेत्रों", en="the by-election constituencies")
                            for s in BUDGET[day % len(BUDGET)])
        files[f"daily/{when.isoformat()}-budget-highlight.yaml"] = "\n".join([
            f"title: {quoted(f'राज्य बजट 2021-22 — आज की मुख्य बात ({when:%d %b})')}",
            f"text: {quoted(f'आज की बजट झलक: {item_hi}। राजस्थान का बजट, हर घर तक।')}",
            f"publish_at: {when.isoformat()}T18:00:00+05:30", "series: budget-2021", "overrides:",
            f"  x: {{text: {quoted(f'Budget 2021-22 highlight: {item_en}. #RajasthanBudget')}}}"]) + "\n"
    return files


WEEKLY = ("इस सप्ताह राज्य बजट 2021-22 की घोषणाएँ उपचुनाव वाले चारों क्षेत्रों तक पहुँचीं। सहाड़ा में नए महाविद्यालय "
          "की घोषणा हुई और 120 गाँवों तक पाइप से पेयजल पहुँचाने का काम शुरू हुआ। वल्लभनगर में सामुदायिक स्वास्थ्य "
          "केंद्र को 100 बिस्तरों तक बढ़ाने का प्रस्ताव है। सुजानगढ़ में 45 किलोमीटर नई ग्रामीण सड़कें बनेंगी और "
          "बालिका छात्रावास खुलेगा। राजसमंद में किसानों के लिए सोलर पंप अनुदान और कृषि उपज मंडी का विस्तार होगा। "
          "हर घोषणा की पूरी जानकारी और प्रगति के लिए हमारी वेबसाइट देखें।")


def state_extras() -> dict[str, str]:
    """A weekly summary too long for one X post (it goes out as a thread) and a rally video."""
    files = {}
    for week, day in enumerate((0, 7), start=1):
        when = FIRST_DAY + timedelta(days=day)
        files[f"weekly/{when.isoformat()}-summary.yaml"] = "\n".join([
            f"title: {quoted(f'साप्ताहिक बजट सारांश — सप्ताह {week}')}", f"text: {quoted(WEEKLY)}",
            f"link: https://example.org/budget-2021/week-{week}",
            f"publish_at: {when.isoformat()}T20:00:00+05:30", "series: budget-2021"]) + "\n"
    when = FIRST_DAY + timedelta(days=8)
    files[f"video/{when.isoformat()}-rally.mp4"] = "MP4"
    files[f"video/{when.isoformat()}-rally.yaml"] = "\n".join([
        f"title: {quoted('जनसभा की झलक')}", f"text: {quoted('जयपुर में बजट संवाद कार्यक्रम की झलकियाँ।')}",
        f"media: [{when.isoformat()}-rally.mp4]", f"publish_at: {when.isoformat()}T13:00:00+05:30",
        "series: budget-2021"]) + "\n"
    return files


def election_week() -> dict[str, dict[str, str]]:
    """Content that meets the election calendar: inside Sahada, Sujangarh and Rajsamand's 48-hour silence
    (15 April 18:00 – 17 April 18:00 IST), and after their poll has closed."""
    files: dict[str, dict[str, str]] = {"content/state": {}, "content/district/bhilwara": {}}

    def manifest(title: str, text: str, when: str) -> str:
        return f"title: {quoted(title)}\ntext: {quoted(text)}\npublish_at: {when}\nseries: budget-2021\n"

    for cid, hi, _en, _district, _poll, _counting in CONSTITUENCIES:
        files[f"content/constituency/{cid}"] = {
            "2021-04/2021-04-16-appeal.yaml": manifest(f"{hi}: मतदान की अपील", f"{hi} के सभी मतदाता 17 अप्रैल को "
                                                       "मतदान अवश्य करें।", "2021-04-16T09:00:00+05:30")}
    files["content/constituency/sahada"]["2021-04/2021-04-20-thanks.yaml"] = manifest(
        "सहाड़ा: धन्यवाद", "सहाड़ा के मतदाताओं का धन्यवाद।", "2021-04-20T09:00:00+05:30")
    files["content/district/bhilwara"]["2021-04/2021-04-16-roundup.yaml"] = manifest(
        "भीलवाड़ा जिला — विकास कार्य", "भीलवाड़ा जिले में विकास कार्यों की सूची।", "2021-04-16T12:30:00+05:30")
    files["content/state"]["daily/2021-04-16-budget-highlight.yaml"] = manifest(
        "राज्य बजट 2021-22 — आज की मुख्य बात (16 Apr)", "आज की बजट झलक: हर जिले में नए महाविद्यालय।",
        "2021-04-16T18:00:00+05:30")
    return files


def daily_series() -> dict[str, str]:
    """Sahada's "विकास गाथा": 43 items with no time; each takes the next 07:30 slot, one a day from 4 March (the
    examples are uploaded at 09:00 on the 3rd) until the silence begins on 15 April at 18:00 — the "every day
    until polling" of the news report."""
    files = {}
    for n in range(1, 44):
        item_hi, _ = WORKS[n % len(WORKS)]
        files[f"series/vikas-gatha-{n:02d}.yaml"] = "\n".join([
            f"title: {quoted(f'विकास गाथा, भाग {n}')}",
            f"text: {quoted(f'सहाड़ा की विकास गाथा, भाग {n}: ' + item_hi.format(hi='सहाड़ा') + '।')}",
            "platforms: [facebook, x]", "series: vikas-gatha"]) + "\n"
    return files


def sahada_subscribers() -> str:
    """Voters of Sahada who gave a missed call to the campaign's number and heard the privacy notice (fictitious
    numbers), with one row that lacks its consent time: the import refuses it in errors/<key>.json."""
    rows = ["phone,name,consent_source,consent_at,notice_version,language,booth"]
    for n in range(1, 41):
        language = "en" if n % 10 == 0 else "hi"
        consent = "" if n == 17 else f"2021-03-0{1 + n % 2}T{9 + n % 8:02d}:15:00+05:30"
        rows.append(f"+91 76650 {n:05d},मतदाता {n},missed call to the campaign number,{consent},v1,{language},"
                    f"{100 + n % 12}")
    return "\n".join(rows) + "\n"


def sahada_broadcast() -> str:
    return "\n".join([
        "title: बजट घोषणा — सहाड़ा के मतदाताओं के लिए",
        "platforms: [whatsapp]",
        "publish_at: 2021-03-12T11:00:00+05:30",
        "series: budget-2021",
        "mcmc_certificate: MCMC/BHL/2021/017   # the committee's pre-certification: bulk messages are advertising",
        "overrides:",
        "  whatsapp: {template: budget_update, params: [\"सहाड़ा\", \"नया राजकीय महाविद्यालय\"], audience: subscribers}",
    ]) + "\n"


def tiny_mp4() -> bytes:
    """A stand-in for a video file: an MP4 header and filler bytes (the sandbox does not decode video)."""
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 64


def tiny_png(seed: int) -> bytes:
    """A small valid PNG poster stand-in (8×8, one colour per file)."""
    width = height = 8
    colour = bytes(((seed * 53) % 256, (seed * 97) % 256, (seed * 151) % 256))
    raw = b"".join(b"\x00" + colour * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def example_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {"config/campaign.yaml": campaign_yaml().encode("utf-8")}
    groups = [("content/state", {**state_posts(), **state_extras()})]
    groups += [(f"content/district/{d}", district_posts(i, d, hi, en)) for i, (d, hi, en) in enumerate(DISTRICTS)]
    groups += [(f"content/constituency/{c}", constituency_posts(i, c, hi, en))
               for i, (c, hi, en, *_rest) in enumerate(CONSTITUENCIES)]
    for prefix, posts in election_week().items():
        groups.append((prefix, posts))
    groups.append(("content/constituency/sahada", daily_series()))
    groups.append(("content/constituency/sahada", {"2021-03/2021-03-12-broadcast.yaml": sahada_broadcast()}))
    groups.append(("audience/sahada", {"2021-03-subscribers.csv": sahada_subscribers()}))
    seed = 0
    for prefix, posts in groups:
        for name, text in posts.items():
            seed += 1
            data = {"PNG": tiny_png(seed), "MP4": tiny_mp4()}.get(text)
            files[f"{prefix}/{name}"] = data if data is not None else text.encode("utf-8")
    return files


def main() -> None:
    for key, data in example_files().items():
        path = ROOT / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(example_files())} files under {ROOT}")


if __name__ == "__main__":
    main()
