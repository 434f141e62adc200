"""`prachar template`: a starter manifest, calendar or audience file that `prachar check` passes.

A manifest explains each field in comments, in Hindi and English. A CSV cannot carry comments (the calendar and the
import would read them as rows), so a calendar or audience template is a small valid example, and its columns are
explained here, on the terminal. The example times are tomorrow's and the day after's (IST): a template uploaded as
it is must not go out at once.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from prachar_cli.helptext import Command, bilingual
from prachar_cli.i18n import say
from prachar_cli.output import visible

FILES = {"manifest": "manifest.yaml", "calendar": "calendar.csv", "audience": "audience.csv"}


def _filled(text: str) -> str:
    from chalicelib.domain.times import IST  # datetime only: no pydantic, no rich

    today = _system_now().astimezone(IST).date()
    for token, days in (("@TOMORROW@", 1), ("@DAY1@", 1), ("@DAY2@", 2)):
        text = text.replace(token, (today + timedelta(days=days)).isoformat())
    return text


def _system_now() -> datetime:
    """The system's time as last seen at sign-in (the local stack replays 2021), else this machine's: tomorrow must
    be the system's tomorrow, or the example would be cancelled as after its poll."""
    from prachar_cli.campaign_cache import cached

    try:
        entry = cached()
    except Exception:  # an unreadable cache (or an unsafe PRACHAR_HOME) must not stop a template being written
        entry = None
    return entry.system_now() if entry is not None else datetime.now(UTC)


@click.command(cls=Command, help=bilingual(
    "Write a starter manifest, calendar or audience file (default: manifest.yaml, calendar.csv or audience.csv "
    "here), explained in Hindi and English.",
    "शुरुआती मैनिफ़ेस्ट, कैलेंडर या ऑडियंस फ़ाइल बनाएँ (डिफ़ॉल्ट: यहीं manifest.yaml, calendar.csv या "
    "audience.csv), हिंदी और अंग्रेज़ी में समझाई हुई।"))
@click.argument("kind", type=click.Choice(tuple(FILES)))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help=bilingual("Where to write it.", "कहाँ लिखें।"))
@click.option("--force", is_flag=True,
              help=bilingual("Replace the file if it exists.", "फ़ाइल पहले से हो तो उसे बदल दें।"))
def template(kind: str, out: Path | None, force: bool) -> None:
    from importlib.resources import files

    target = out or Path(FILES[kind])
    shown = visible(os.fsencode(target).decode("utf-8", "backslashreplace"))
    text = _filled((files("prachar_cli") / "templates" / FILES[kind]).read_text(encoding="utf-8"))
    try:
        with target.open("w" if force else "x", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except FileExistsError:
        click.echo(say("{path} exists already: give --force to replace it, or --out another name",
                       "{path} पहले से है: बदलने के लिए --force दें, या --out से दूसरा नाम", path=shown),
                   err=True)
        raise SystemExit(1) from None
    except OSError as exc:
        click.echo(say("{path} could not be written: {error}", "{path} लिखी नहीं जा सकी: {error}", path=shown,
                       error=visible(str(exc.strerror or exc))), err=True)
        raise SystemExit(1) from None
    click.echo(say("Wrote {path}.", "{path} लिखी गई।", path=shown))
    for line in _EXPLAINED[kind]():
        click.echo(line)
    click.echo("")
    click.echo(say("Check it: prachar check {path} (against your team's scope; or --scope constituency/<id>)",
                   "जाँचें: prachar check {path} (आपकी टीम के स्कोप के लिए; या --scope constituency/<id>)",
                   path=shown))


def _manifest() -> list[str]:
    return [say("Each field is explained in the file's comments. The title, text and time are examples: write your "
                "own before uploading.",
                "हर फ़ील्ड फ़ाइल की टिप्पणियों में समझाया गया है। शीर्षक, टेक्स्ट और समय उदाहरण हैं: अपलोड से पहले "
                "अपने लिखें।")]


def _calendar() -> list[str]:
    return [
        say("One post per row; the first row names the columns. The two rows are examples (tomorrow and the day "
            "after): replace them with your own.",
            "हर पंक्ति एक पोस्ट; पहली पंक्ति में कॉलम के नाम। दोनों पंक्तियाँ उदाहरण हैं (कल और परसों): इनकी जगह अपनी "
            "पोस्ट लिखें।"),
        say("  publish_at  when it goes out, like 2021-03-05T09:00:00+05:30 (without +05:30: IST); empty: as soon as "
            "uploaded, or with a series, the series' next daily slot",
            "  publish_at  कब जाए, जैसे 2021-03-05T09:00:00+05:30 (+05:30 के बिना: IST); खाली: अपलोड होते ही, या "
            "series हो तो सीरीज़ के अगले दैनिक स्लॉट पर"),
        say("  platforms   facebook;x;whatsapp — separated by ; (empty: every account of your scope)",
            "  platforms   facebook;x;whatsapp — ; से अलग (खाली: आपके स्कोप के सभी अकाउंट)"),
        say("  title       required, and different on every row: a row is known by its title (edit a row and upload "
            "again: its posts that have not gone out are replaced)",
            "  title       ज़रूरी, और हर पंक्ति में अलग: पंक्ति अपने शीर्षक से पहचानी जाती है (पंक्ति बदलकर फिर अपलोड "
            "करें: जो पोस्ट नहीं गई, वे बदल जाएँगी)"),
        say("  text        the post; a cell with a comma or a line break is put in double quotes (Excel and "
            "LibreOffice do it for you)",
            "  text        पोस्ट का टेक्स्ट; जिस सेल में कॉमा या नई पंक्ति हो, वह डबल कोट में रहती है (Excel और "
            "LibreOffice यह अपने-आप करते हैं)"),
        say("  link        optional, https://…", "  link        वैकल्पिक, https://…"),
        say("  media       optional, files next to the calendar separated by ; (upload them with it)",
            "  media       वैकल्पिक, कैलेंडर के पास की फ़ाइलें, ; से अलग (इनके साथ अपलोड करें)"),
        say("  series      optional tag; rows of one series with no publish_at go out one a day",
            "  series      वैकल्पिक टैग; एक सीरीज़ की बिना publish_at वाली पंक्तियाँ रोज़ एक-एक जाती हैं"),
        say("Save it as CSV UTF-8 (Excel: Save As → CSV UTF-8). Good rows go ahead even when a row is refused.",
            "इसे CSV UTF-8 में सहेजें (Excel: Save As → CSV UTF-8)। कोई पंक्ति अस्वीकार हो, तब भी सही पंक्तियाँ "
            "आगे जाती हैं।"),
    ]


def _audience() -> list[str]:
    return [
        say("One person who opted in to WhatsApp messages per row; the first row names the columns.",
            "हर पंक्ति में एक व्यक्ति जिसने व्हाट्सऐप संदेशों के लिए सहमति दी; पहली पंक्ति में कॉलम के नाम।"),
        say("  phone           the number: 98765 43210 or +91 98765 43210",
            "  phone           नंबर: 98765 43210 या +91 98765 43210"),
        say("  name            their name", "  name            उनका नाम"),
        say("  consent_source  how they opted in (a form, a missed call, a reply) — never a bought or scraped list",
            "  consent_source  सहमति कैसे दी (फ़ॉर्म, मिस्ड कॉल, जवाब) — ख़रीदी या जुटाई गई सूची कभी नहीं"),
        say("  consent_at      when, like 2021-03-01T10:30:00+05:30 or 2021-03-01",
            "  consent_at      कब, जैसे 2021-03-01T10:30:00+05:30 या 2021-03-01"),
        say("  notice_version  the privacy notice they were given (one the campaign lists)",
            "  notice_version  उन्हें दी गई गोपनीयता सूचना (कैंपेन की सूची में से)"),
        say("  language        hi or en", "  language        hi या en"),
        say("  more columns (booth, ward, …) are kept with the contact, up to 10",
            "  और कॉलम (booth, ward, …) संपर्क के साथ रखे जाते हैं, अधिकतम 10"),
        say("The two rows are examples with made-up numbers: delete them before you upload, or those numbers are "
            "imported.",
            "दोनों पंक्तियाँ बनावटी नंबरों वाले उदाहरण हैं: अपलोड से पहले इन्हें हटाएँ, वरना ये नंबर भी जुड़ जाएँगे।"),
        say("Contacts belong to one constituency: check and upload with --scope constituency/<id>.",
            "संपर्क एक विधानसभा क्षेत्र के होते हैं: --scope constituency/<id> के साथ जाँचें और अपलोड करें।"),
    ]


_EXPLAINED = {"manifest": _manifest, "calendar": _calendar, "audience": _audience}
