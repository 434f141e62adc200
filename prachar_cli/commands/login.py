"""`prachar login` and `prachar logout`."""

from __future__ import annotations

import sys

import click

from prachar_cli.api import reported
from prachar_cli.helptext import Command, bilingual
from prachar_cli.i18n import say


@click.command(cls=Command, help=bilingual(
    "Sign in with your campaign member id (the password goes to the campaign's Cognito only).\n\n"
    "Exit 0: signed in; 1: the sign-in was refused or the API does not answer; 2: a wrong address or option.",
    "अपनी कैंपेन सदस्य आईडी से साइन इन करें (पासवर्ड केवल कैंपेन के Cognito को जाता है)।\n\n"
    "निकास 0: साइन इन हुआ; 1: साइन-इन अस्वीकार हुआ या API जवाब नहीं दे रहा; 2: गलत पता या विकल्प।"))
@click.option("--api", "api_url", metavar="URL", help=bilingual(
    "The API's address: what `chalice deploy` printed (https://…/api/), locally http://127.0.0.1:8000 (plain http "
    "only for this machine). Remembered for the next time.",
    "API का पता: जो `chalice deploy` ने छापा (https://…/api/), लोकल में http://127.0.0.1:8000 (सादा http केवल इसी "
    "मशीन के लिए)। अगली बार के लिए याद रखा जाता है।"))
@click.option("--member", metavar="ID", help=bilingual(
    "Your member id in config/campaign.yaml (e.g. sahada-02).",
    "config/campaign.yaml में आपकी सदस्य आईडी (जैसे sahada-02)।"))
@click.option("--password-stdin", is_flag=True, help=bilingual(
    "Read the password from the first line of stdin (and, if a new one is asked for, the new one from the second "
    "line): for scripts.",
    "पासवर्ड stdin की पहली पंक्ति से पढ़ें (और नया पासवर्ड माँगा जाए तो दूसरी पंक्ति से): स्क्रिप्ट के लिए।"))
@reported
def login(api_url: str | None, member: str | None, password_stdin: bool) -> None:
    from prachar_cli import campaign_cache, session, settings
    from prachar_cli.api import Client, CliError
    from prachar_cli.output import console, plain

    saved = settings.load()
    interactive = sys.stdin.isatty() and not password_stdin
    if not api_url:
        api_url = saved.api
    if not api_url:
        if not interactive:
            raise click.UsageError(say("give the API's address: prachar login --api URL",
                                       "API का पता दें: prachar login --api URL"))
        api_url = click.prompt(say("API address", "API का पता"), default=settings.LOCAL_API)
    try:
        base = find_api(settings.normalize_api(api_url))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    pool = session.identity(base)  # before the password is asked for: where it would go, checked and said
    console().print(say("Your password goes to {where} — never to the API at {api}.",
                        "आपका पासवर्ड {where} को जाता है — {api} पर API को कभी नहीं।",
                        where=plain(session.where(*pool)), api=plain(base)), soft_wrap=True)
    member = (member or "").strip() or saved.member
    if not member:
        if not interactive:
            raise click.UsageError(say("give your member id: prachar login --member ID",
                                       "अपनी सदस्य आईडी दें: prachar login --member ID"))
        member = click.prompt(say("Member id", "सदस्य आईडी"), default=saved.member or None).strip()
    member = member.lower()  # the pool's user names are case-insensitive; the config's ids are lower case

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError(say("--password-stdin: the first line of stdin is empty",
                                       "--password-stdin: stdin की पहली पंक्ति खाली है"))
    else:
        password = click.prompt(say("Password for {member}", "{member} का पासवर्ड", member=member), hide_input=True)

    def new_password(problem: str | None) -> str:
        if password_stdin:
            if problem:
                raise CliError(say("The new password was refused: {why}", "नया पासवर्ड अस्वीकार हुआ: {why}",
                                   why=problem))
            chosen = sys.stdin.readline().rstrip("\r\n")
            if not chosen:
                raise CliError(say("This is your first sign-in: choose a new password and give it on the second "
                                   "line of stdin.",
                                   "यह आपका पहला साइन-इन है: नया पासवर्ड चुनें और उसे stdin की दूसरी पंक्ति में दें।"))
            return chosen
        if problem:
            console().print(f"[yellow]{plain(problem)}[/yellow]", soft_wrap=True)
        else:
            console().print(say("This is your first sign-in: choose your own password (at least 10 characters, "
                                "with lower-case letters and digits).",
                                "यह आपका पहला साइन-इन है: अपना पासवर्ड चुनें (कम से कम 10 अक्षर, छोटे अक्षर और अंक "
                                "सहित)।"), soft_wrap=True)
        return click.prompt(say("New password", "नया पासवर्ड"), hide_input=True, confirmation_prompt=True)

    signed = session.sign_in(base, member, password, new_password=new_password, pool=pool)
    session.save(signed)
    settings.save(settings.Settings(api=base, member=member))
    me = Client(signed).get("api/me")
    console().print(who(me), soft_wrap=True)
    try:
        campaign_cache.refresh(Client(signed), me)
    except CliError as exc:
        console().print(say("(The campaign could not be fetched for offline checks: {why})",
                            "(ऑफ़लाइन जाँच के लिए कैंपेन नहीं मिला: {why})", why=plain(exc.message)), soft_wrap=True)


def find_api(base: str) -> str:
    """The address that answers as Prachar's API, of the ones the user may have meant (settings.api_candidates)."""
    from prachar_cli.api import Unreachable, fetch
    from prachar_cli.settings import api_candidates

    unreachable: Unreachable | None = None
    for candidate in api_candidates(base):
        try:
            answer = fetch("GET", candidate + "health", timeout=10,
                           what=say("the API at {url}", "{url} पर API", url=candidate))
        except Unreachable as exc:
            unreachable = unreachable or exc
            continue
        if answer.status == 200 and isinstance(answer.data, dict) and answer.data.get("service") == "prachar":
            return candidate
    if unreachable is not None and unreachable.url.startswith(base):
        raise unreachable
    return base  # it answers, but not as Prachar: identity.json's refusal explains


def who(me: dict) -> str:
    from prachar_cli.output import plain

    member = me.get("member") or {}
    team = me.get("team") or {}
    scope = team.get("scope") or say("no team", "कोई टीम नहीं")
    return say("Signed in as [bold]{id}[/bold] ({name}), {role} of {scope}, campaign {campaign}.",
               "[bold]{id}[/bold] ({name}) के रूप में साइन इन: {scope} के {role}, कैंपेन {campaign}।",
               id=plain(str(member.get("id", "?"))), name=plain(str(member.get("name", ""))),
               role=plain(str(member.get("role", "?"))), scope=plain(str(scope)),
               campaign=plain(str(me.get("campaign", "?"))))


@click.command(cls=Command, help=bilingual(
    "Forget the saved sign-in (the API's address stays for the next `prachar login`).",
    "सहेजा हुआ साइन-इन भूल जाएँ (API का पता अगले `prachar login` के लिए रहता है)।"))
@reported
def logout() -> None:
    from prachar_cli import session
    from prachar_cli.output import console, plain

    was = session.forget()
    if was is None:
        console().print(say("You were not signed in.", "आप साइन इन नहीं थे।"), soft_wrap=True)
        return
    session.revoke(was)  # best effort: the refresh token is useless to anyone who copied the file
    console().print(say("Signed out ({member}).", "साइन आउट ({member})।", member=plain(was.member)), soft_wrap=True)
