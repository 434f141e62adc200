"""DynamoDB: one table holds the campaign, content, posts and the activity log.

Keys (pk / sk):
  CAMPAIGN            / ACTIVE                 the active campaign config
  CONTENT#<id>        / #CONTENT               an uploaded manifest, its revision and checksum
  CONTENT#<id>        / POST#<account>         one post: that content for that account
  ACTIVITY#<IST date> / <UTC time>#<random>    one activity-log entry
Indexes:
  wake      (wake_pk, wake_at)   sparse: only posts the publishing clock must look at, by when
  by_scope  (scope_pk, scope_sk) every post of a scope by due time, for reports and the dashboard
  by_done   (done_pk, done_at)   a scope's posts by when they reached a final state
  on_its_way (way_pk, scope_sk)  sparse: posts on their way out (scheduled … in doubt), by due time — the oldest
                                 one past due is how late publishing is
Its records live in domain/records.py (re-exported here); adapters/memory.py is its twin, same contract tests.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Collection, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo_codec import from_item, to_item, to_value, to_values
from chalicelib.adapters.table_items import (
    KEPT_ON_PLACE,
    ON_ITS_WAY_PARTITION,
    WAKE_PARTITION,
    account_state_from,
    activity_from,
    activity_item,
    campaign_from,
    campaign_item,
    content_from,
    content_item,
    due_from_scope_key,
    post_from,
    post_item,
    post_key,
)
from chalicelib.domain.account_state import AccountState, Health
from chalicelib.domain.post import DONE, Post, PostStatus
from chalicelib.domain.post_states import move_for, on_its_way
from chalicelib.domain.records import ActiveCampaign, ActivityEntry, ContentRecord, Placement
from chalicelib.domain.times import epoch_milliseconds, from_iso, to_iso
from chalicelib.domain.whatsapp_webhook import reach_stages
from chalicelib.errors import PersistenceError

WAKE_INDEX = "wake"
SCOPE_INDEX = "by_scope"
DONE_INDEX = "by_done"
ON_ITS_WAY_INDEX = "on_its_way"


BATCH_GET_LIMIT = 100  # keys per BatchGetItem
REACH_RACE_RETRIES = 5  # a member's statuses racing each other settle in a try or two


class Store:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    # ---- campaign -------------------------------------------------------------------------------
    def active_campaign(self) -> ActiveCampaign | None:
        item = self._get("CAMPAIGN", "ACTIVE")
        return campaign_from(item) if item else None

    def activate_campaign(self, campaign: ActiveCampaign) -> None:
        self._put(campaign_item(campaign))

    # ---- content --------------------------------------------------------------------------------
    def content(self, content_id: str) -> ContentRecord | None:
        item = self._get(f"CONTENT#{content_id}", "#CONTENT")
        return content_from(item) if item else None

    def contents(self, content_ids: Iterable[str]) -> dict[str, ContentRecord]:
        """content() of many, in strongly consistent batch reads: those that exist."""
        keys = [{"pk": f"CONTENT#{c}", "sk": "#CONTENT"} for c in dict.fromkeys(content_ids)]
        return {item["content_id"]: content_from(item) for item in self._batch_get_all(keys)}

    def save_content(self, record: ContentRecord, previous_revision: int | None) -> bool:
        """Write a new revision; False if another writer got there first."""
        condition = ("attribute_not_exists(pk)" if previous_revision is None else "revision = :previous")
        values = {} if previous_revision is None else {":previous": to_value(previous_revision)}
        return self._put(content_item(record), condition=condition, values=values)

    def decide(self, content_id: str, revision: int, decision: dict[str, Any]) -> bool:
        """Record an approval decision on the revision the approver saw; False if it changed meanwhile."""
        return self._update(f"CONTENT#{content_id}", "#CONTENT", "SET approval = :a", "revision = :r", {},
                            to_values({":a": json.dumps(decision), ":r": revision}))

    def series_cursor(self, scope: str, series: str) -> datetime | None:
        item = self._get(f"SERIES#{scope}", series)
        return from_iso(item["last_slot"]) if item else None

    def take_series_slot(self, scope: str, series: str, previous: datetime | None, slot: datetime) -> bool:
        """Move the series' cursor from `previous` to `slot`; False if another upload took a slot meanwhile."""
        condition = "attribute_not_exists(pk)" if previous is None else "last_slot = :previous"
        values = {} if previous is None else to_values({":previous": to_iso(previous)})
        return self._put({"pk": f"SERIES#{scope}", "sk": series, "last_slot": to_iso(slot)}, condition=condition,
                         values=values)

    def calendar_rows(self, key: str) -> list[str]:
        item = self._get(f"CALENDAR#{key}", "ROWS")
        return list(item.get("content_ids", [])) if item else []

    def remember_calendar_rows(self, key: str, content_ids: list[str]) -> None:
        self._put({"pk": f"CALENDAR#{key}", "sk": "ROWS", "content_ids": content_ids})

    # ---- the system's answer to each upload (what `prachar upload` waits for) ------------------------------
    def record_upload_answer(self, key: str, upload: str, answer: dict[str, Any], expires_at: int) -> bool:
        """What became of one upload of `key` — `upload`: its S3 version id (its ETag on an unversioned bucket). The
        first answer stays: the same event delivered again finds the work done ("unchanged"), which is not what
        became of the upload. False when an answer was there already."""
        return self._put({"pk": f"UPLOAD#{key}", "sk": f"ANSWER#{upload}",
                          "answer": json.dumps(answer, ensure_ascii=False), "expires_at": expires_at},
                         condition="attribute_not_exists(pk)")

    def upload_answer(self, key: str, upload: str) -> dict[str, Any] | None:
        item = self._get(f"UPLOAD#{key}", f"ANSWER#{upload}")
        return json.loads(item["answer"]) if item else None

    def content_with_posts(self, content_id: str) -> tuple[ContentRecord | None, list[Post]]:
        content, posts = None, []
        for item in self._query(KeyConditionExpression="pk = :pk",
                                ExpressionAttributeValues={":pk": to_value(f"CONTENT#{content_id}")}):
            if item["sk"] == "#CONTENT":
                content = content_from(item)
            elif item["sk"].startswith("POST#"):
                posts.append(post_from(item))
        return content, posts

    # ---- posts ----------------------------------------------------------------------------------
    def post(self, content_id: str, account_id: str) -> Post | None:
        item = self._get(f"CONTENT#{content_id}", f"POST#{account_id}")
        return post_from(item) if item else None

    def post_with_gates(self, content_id: str, account_id: str, pause_scopes: Iterable[str] = ()
                        ) -> tuple[Post | None, AccountState, dict[str, dict[str, Any]]]:
        """The post, its account's state and the pauses of `pause_scopes` (those that exist) in one strongly
        consistent read: what the publisher checks before it claims a post."""
        scopes = list(dict.fromkeys(pause_scopes))
        keys = [{"pk": f"CONTENT#{content_id}", "sk": f"POST#{account_id}"},
                {"pk": f"ACCOUNT#{account_id}", "sk": "STATE"}, *({"pk": "PAUSE", "sk": s} for s in scopes)]
        found = {(item["pk"], item["sk"]): item for item in self._batch_get(keys)}
        post = found.get((keys[0]["pk"], keys[0]["sk"]))
        return (post_from(post) if post else None,
                account_state_from(account_id, found.get((keys[1]["pk"], keys[1]["sk"]))),
                {s: found[("PAUSE", s)] for s in scopes if ("PAUSE", s) in found})

    def place_post(self, post: Post, replaceable: Iterable[PostStatus]) -> Placement:
        """Create the post, or give it a new revision if it has not gone out yet.

        What already reached someone stays recorded (`deliveries`): a new revision goes only to the recipients
        and thread parts that have not had the post. A post whose last call may have landed (being checked,
        or waiting for a status webhook) is not replaced: the outcome of that call must be known first."""
        statuses = list(replaceable)
        move_for([None, *statuses], post.status, claimed=False)
        item = post_item(post)
        values: dict[str, Any] = {f":r{i}": str(s) for i, s in enumerate(statuses)}
        names = {"#status": "status"}
        # Only a newer revision replaces a post: two uploads of one key processed at once cannot both write
        # revision N (the loser's save of the content record then fails and S3 retries it as N + 1).
        if post.doubts:
            # Replacing a post whose last call is in doubt (check_first, nothing pending): only the revision read,
            # whose wording the caller carried into `doubts` for the look-up.
            condition = (f"#status IN ({', '.join(values)}) AND check_first = :true "
                         "AND attribute_not_exists(pending_delivery) AND revision = :read_revision")
            values.update({":true": True, ":read_revision": post.doubts[-1]["revision"]})
        else:
            condition = (f"attribute_not_exists(pk) OR (#status IN ({', '.join(values)}) "
                         "AND attribute_not_exists(check_first) AND attribute_not_exists(pending_delivery) "
                         "AND (attribute_not_exists(revision) OR revision < :new_revision))")
            values[":new_revision"] = post.revision
        assignments = []
        for index, (name, value) in enumerate(item.items()):
            if name in KEPT_ON_PLACE:
                continue
            names[f"#s{index}"] = name
            values[f":s{index}"] = value
            assignments.append(f"#s{index} = :s{index}")
        values.update({":empty": {}, ":zero": 0})
        assignments += ["deliveries = if_not_exists(deliveries, :empty)",
                        "delivery_revisions = if_not_exists(delivery_revisions, :empty)",
                        "attempts = if_not_exists(attempts, :zero)"]
        removes = ["claim", "claimed_at", "reason", "silence_cleared"] + ([] if post.doubts else ["doubts"])
        if post.wake_at is None:
            removes += ["wake_pk", "wake_at"]
        if "way_pk" not in item:
            removes.append("way_pk")
        expression = "SET " + ", ".join(assignments) + " REMOVE " + ", ".join(removes)
        try:
            response = self._call("update_item", raise_conditional=True,
                                  Key=to_item({"pk": item["pk"], "sk": item["sk"]}), UpdateExpression=expression,
                                  ConditionExpression=condition,
                                  ExpressionAttributeNames=names, ExpressionAttributeValues=to_values(values),
                                  ReturnValues="ALL_OLD")
        except _ConditionFailed:
            return Placement(placed=False, previous=self.post(post.content_id, post.account_id))
        old = response.get("Attributes")
        return Placement(placed=True, previous=post_from(from_item(old)) if old else None)

    def move_post(self, content_id: str, account_id: str, *, expected: Iterable[PostStatus],
                  status: PostStatus, now: datetime, wake_at: datetime | None = None,
                  fields: dict[str, Any] | None = None, claim: str | None = None,
                  increment_attempts: bool = False, expected_wake_at: str | None = None,
                  expected_revision: int | None = None, delivery: tuple[str, str, int] | None = None) -> bool:
        """The one way a post changes state: a conditional write from an expected state (and claim, and the
        wake time or revision the caller read, where acting on a stale read would send or approve twice).
        `delivery` (key, platform id, revision) records the last call's delivery in the same write."""
        return self._move(content_id, account_id, expected=expected, status=status, now=now, wake_at=wake_at,
                          fields=fields, claim=claim, increment_attempts=increment_attempts,
                          expected_wake_at=expected_wake_at, expected_revision=expected_revision,
                          delivery=delivery) is not None

    def _move(self, content_id: str, account_id: str, *, expected: Iterable[PostStatus], status: PostStatus,
              now: datetime, wake_at: datetime | None, fields: dict[str, Any] | None, claim: str | None,
              increment_attempts: bool, expected_wake_at: str | None, expected_revision: int | None,
              delivery: tuple[str, str, int] | None = None) -> Post | None:
        """move_post, returning the post as the write left it (None when its condition failed)."""
        expected = list(expected)
        move_for(expected, status, claimed=claim is not None, fields=(fields or {}).keys())
        values: dict[str, Any] = {f":e{i}": str(s) for i, s in enumerate(expected)}
        names = {"#status": "status"}
        condition = f"#status IN ({', '.join(values)})"
        if claim is not None:
            condition += " AND claim = :claim"
            values[":claim"] = claim
        if expected_wake_at is not None:
            condition += " AND wake_at = :read_wake"
            values[":read_wake"] = expected_wake_at
        if expected_revision is not None:
            condition += " AND revision = :read_revision"
            values[":read_revision"] = expected_revision
        sets = {"status": str(status), "updated_at": to_iso(now), **(fields or {})}
        removes = [k for k, v in sets.items() if v is None]
        sets = {k: v for k, v in sets.items() if v is not None}
        if wake_at is None:
            removes += ["wake_pk", "wake_at"]
        else:
            sets.update(wake_pk=WAKE_PARTITION, wake_at=to_iso(wake_at))
        if on_its_way(status, wakes=wake_at is not None):
            sets["way_pk"] = ON_ITS_WAY_PARTITION
        else:
            removes.append("way_pk")
        assignments = []
        for index, (name, value) in enumerate(sets.items()):
            names[f"#s{index}"] = name
            values[f":s{index}"] = value
            assignments.append(f"#s{index} = :s{index}")
        expression = "SET " + ", ".join(assignments)
        if delivery is not None:
            names["#delivery"] = delivery[0]
            values.update({":delivery_id": delivery[1], ":delivery_revision": delivery[2]})
            expression += (", deliveries.#delivery = :delivery_id, "
                           "delivery_revisions.#delivery = :delivery_revision")
        if status in DONE:  # into the by_done index, in the scope's partition (copied from the by_scope key)
            expression += ", done_pk = scope_pk, done_at = :done_at"
            values[":done_at"] = to_iso(now)
        if increment_attempts:  # a claim: also make sure the maps its deliveries go into exist (older items)
            expression += (", attempts = if_not_exists(attempts, :zero) + :one, "
                           "deliveries = if_not_exists(deliveries, :empty), "
                           "delivery_revisions = if_not_exists(delivery_revisions, :empty)")
            values.update({":zero": 0, ":one": 1, ":empty": {}})
        if removes:
            for index, name in enumerate(removes):
                names[f"#r{index}"] = name
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
        item = self._update_returning(f"CONTENT#{content_id}", f"POST#{account_id}", expression, condition, names,
                                      to_values(values))
        return post_from(item) if item is not None else None

    def claim_post(self, content_id: str, account_id: str, claim: str, now: datetime, wake_at: datetime,
                   revision: int) -> Post | None:
        """queued → publishing under our claim id, for the revision we read: the post as the claim found it (its
        deliveries as they are now — another worker may have sent some since our read), or None if another
        worker, a state change or a re-upload got there first."""
        return self._move(content_id, account_id, expected=[PostStatus.QUEUED], status=PostStatus.PUBLISHING,
                          now=now, wake_at=wake_at, fields={"claim": claim, "claimed_at": to_iso(now)}, claim=None,
                          increment_attempts=True, expected_wake_at=None, expected_revision=revision)

    # ---- the kill switch --------------------------------------------------------------------------
    def pause(self, key: str, by: str, reason: str, now: datetime, *, replacing: str | None = None) -> bool:
        """Pause `key`, where it is not paused yet or (`replacing`) was paused by that member; False otherwise."""
        condition = "attribute_not_exists(pk)" + (" OR #by = :replacing" if replacing else "")
        return self._put({"pk": "PAUSE", "sk": key, "by": by, "reason": reason, "since": to_iso(now)},
                         condition=condition, values=to_values({":replacing": replacing}) if replacing else None,
                         names={"#by": "by"} if replacing else None)

    def resume(self, key: str, *, paused_by: str | None = None) -> bool:
        """Lift the pause of `key` (only if `paused_by` set it, when given); False if there was none to lift."""
        request: dict[str, Any] = {"ConditionExpression": "attribute_exists(pk)"}
        if paused_by:
            request = {"ConditionExpression": "attribute_exists(pk) AND #by = :by",
                       "ExpressionAttributeNames": {"#by": "by"},
                       "ExpressionAttributeValues": to_values({":by": paused_by})}
        try:
            self._call("delete_item", Key=to_item({"pk": "PAUSE", "sk": key}), raise_conditional=True, **request)
        except _ConditionFailed:
            return False
        return True

    def pauses(self) -> dict[str, dict[str, Any]]:
        """Read strongly: a pause written a moment ago must stop the next call."""
        return {item["sk"]: item for item in self._query(KeyConditionExpression="pk = :p", ConsistentRead=True,
                                                          ExpressionAttributeValues={":p": to_value("PAUSE")})}

    def bind_members(self, subs: dict[str, str], now: datetime) -> None:
        """Which Cognito user (its `sub`) holds each member id now: a token of an id's previous holder is refused."""
        self._put({"pk": "IDENTITY", "sk": "SUBS", "subs": dict(subs), "bound_at": to_iso(now)})

    def member_subs(self) -> dict[str, str]:
        item = self._get("IDENTITY", "SUBS")
        return dict(item.get("subs") or {}) if item else {}

    def poll_closed(self, constituency_id: str) -> bool:
        return self._get("POLL", constituency_id) is not None

    def mark_poll_closed(self, constituency_id: str, now: datetime) -> None:
        self._put({"pk": "POLL", "sk": constituency_id, "closed_at": to_iso(now)})

    def wake_now(self, content_id: str, account_id: str, status: PostStatus, now: datetime) -> bool:
        return self.move_post(content_id, account_id, expected=[status], status=status, now=now, wake_at=now)

    def begin_delivery(self, content_id: str, account_id: str, delivery_key: str, claim: str) -> bool:
        """Write down the call about to be made, so a worker that dies during it leaves a known question
        (answered by the platform's status webhook) instead of an unknown one; False if the claim is lost."""
        return self._update(f"CONTENT#{content_id}", f"POST#{account_id}", "SET pending_delivery = :d",
                            "claim = :claim", {}, to_values({":d": delivery_key, ":claim": claim}))

    def record_delivery(self, content_id: str, account_id: str, delivery_key: str, platform_id: str,
                        claim: str, revision: int) -> bool:
        """Remember one platform call that succeeded (and the revision it carried), so no retry or later
        revision sends it again; False if the claim is lost (the worker must stop)."""
        return self._update(
            f"CONTENT#{content_id}", f"POST#{account_id}",
            "SET deliveries.#d = :id, delivery_revisions.#d = :rev REMOVE pending_delivery", "claim = :claim",
            {"#d": delivery_key}, to_values({":id": platform_id, ":claim": claim, ":rev": revision}))

    def record_and_begin_delivery(self, content_id: str, account_id: str, recorded: tuple[str, str, int],
                                  delivery_key: str, claim: str) -> bool:
        """record_delivery of the call just made (`recorded`: key, platform id, revision) and begin_delivery of the
        next one, in one write conditional on the claim: a kit's member after member. Until it is written the last
        call stays named (`pending_delivery`), so a worker that dies before it leaves a question that call's status
        webhook answers; False if the claim is lost (the worker must stop)."""
        return self._update(
            f"CONTENT#{content_id}", f"POST#{account_id}",
            "SET deliveries.#r = :id, delivery_revisions.#r = :rev, pending_delivery = :d", "claim = :claim",
            {"#r": recorded[0]},
            to_values({":id": recorded[1], ":rev": recorded[2], ":d": delivery_key, ":claim": claim}))

    def note_message_status(self, message_id: str, status: str, rank: int, reference: str | None,
                            now: datetime) -> bool:
        """The latest status of one sent message (sent < delivered < read; failed wins); False if older."""
        return self.advance_message_status(message_id, status, rank, reference, now) is not None

    def advance_message_status(self, message_id: str, status: str, rank: int, reference: str | None,
                               now: datetime) -> int | None:
        """As note_message_status, answering the rank it moved from (0: the first status heard), None if it did
        not move: one atomic step, so two webhooks racing never both count the same stage."""
        try:
            response = self._call(
                "update_item", raise_conditional=True, Key=to_item({"pk": f"WAMSG#{message_id}", "sk": "STATUS"}),
                UpdateExpression="SET #status = :s, #rank = :r, #ref = :ref, updated_at = :now",
                ConditionExpression="attribute_not_exists(pk) OR #rank < :r",
                ExpressionAttributeNames={"#status": "status", "#rank": "rank", "#ref": "reference"},
                ExpressionAttributeValues=to_values({":s": status, ":r": rank, ":ref": reference or "",
                                                    ":now": to_iso(now)}), ReturnValues="UPDATED_OLD")
        except _ConditionFailed:
            return None
        return int(from_item(response.get("Attributes") or {}).get("rank", 0))

    def count_reach(self, content_id: str, account_id: str, member: str, rank: int, *,
                    read: dict[str, Any] | None = None) -> list[str]:
        """`member` reached status rank `rank` for this WhatsApp post: the stages (sent, delivered, read) counted
        now — each member once per stage, however many messages they were sent (a re-send after a failure) and in
        whatever order the webhooks come. The member's rank and the post's counts live on one small item and change
        in one conditional write, so a failure leaves neither and Meta's redelivery counts it then (and a status
        webhook never rewrites the post and its deliveries).

        `read`: the REACH item as the caller just read it ({}: there was none), to start from instead of reading it
        again — the write is conditional on the member's rank it shows, so a stale one only costs another try."""
        for attempt in range(REACH_RACE_RETRIES):
            item = (read or None) if attempt == 0 and read is not None else self._get(f"REACH#{content_id}",
                                                                                         account_id)
            members = (item or {}).get("members") or {}
            before = int(members.get(member, 0))
            stages = reach_stages(before, rank)
            if not stages:
                return []
            names = {f"#c{i}": stage for i, stage in enumerate(stages)}
            adds = " ADD " + ", ".join(f"{name} :one" for name in names)
            values: dict[str, Any] = {":one": 1}
            if item is None:
                expression, condition = "SET members = :members" + adds, "attribute_not_exists(pk)"
                values[":members"] = {member: rank}
            else:
                names["#m"] = member
                expression = "SET members.#m = :rank" + adds
                condition = "attribute_not_exists(members.#m)" if member not in members else "members.#m = :before"
                values.update({":rank": rank, **({":before": before} if member in members else {})})
            if self._update(f"REACH#{content_id}", account_id, expression, condition, names, to_values(values)):
                return stages
            # Another status of this post moved meanwhile: read again.
        raise PersistenceError("the post's reach kept changing; Meta delivers the status again")

    def reach(self, content_id: str, account_id: str) -> dict[str, int]:
        """The post's counts per stage."""
        return _reach_counts(self._get(f"REACH#{content_id}", account_id) or {})

    def record_metrics(self, content_id: str, account_id: str, metrics: dict[str, int], now: datetime) -> bool:
        """A published post's engagement as the platform counts it now (each collection replaces the last)."""
        pk, sk = post_key(content_id, account_id)
        return self._update(pk, sk, "SET #metrics = :m, metrics_at = :now", "#status = :published",
                            {"#status": "status", "#metrics": "metrics"},
                            to_values({":m": dict(metrics), ":now": to_iso(now),
                                      ":published": str(PostStatus.PUBLISHED)}))

    def mark_gone(self, content_id: str, account_id: str, now: datetime) -> bool:
        """The platform says the published post no longer exists (deleted on the page): stop asking for it."""
        pk, sk = post_key(content_id, account_id)
        return self._update(pk, sk, "SET gone_at = :now", "#status = :published AND attribute_not_exists(gone_at)",
                            {"#status": "status"}, to_values({":now": to_iso(now),
                                                             ":published": str(PostStatus.PUBLISHED)}))

    def message_status(self, message_id: str) -> str | None:
        """The latest status recorded for one sent message, if any."""
        item = self._get(f"WAMSG#{message_id}", "STATUS")
        return item.get("status") if item else None

    def message_status_with_post(self, message_id: str, content_id: str, account_id: str
                                 ) -> tuple[str | None, Post | None, dict[str, Any]]:
        """What a team message's status webhook acts on, in one strongly consistent read: the status recorded for
        the message (None: none yet), its post, and the post's REACH item ({} when it has none; for count_reach)."""
        keys = [{"pk": f"WAMSG#{message_id}", "sk": "STATUS"},
                {"pk": f"CONTENT#{content_id}", "sk": f"POST#{account_id}"},
                {"pk": f"REACH#{content_id}", "sk": account_id}]
        found = {(item["pk"], item["sk"]): item for item in self._batch_get(keys)}
        status, post, reach = (found.get((key["pk"], key["sk"])) for key in keys)
        return (status or {}).get("status"), post_from(post) if post else None, reach or {}

    def reaches(self, posts: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, int]]:
        """reach() of many posts ((content id, account id) each) in batch reads: those with counts."""
        keys = [{"pk": f"REACH#{content_id}", "sk": account_id} for content_id, account_id in dict.fromkeys(posts)]
        return {(item["pk"].removeprefix("REACH#"), item["sk"]): _reach_counts(item)
                for item in self._batch_get_all(keys)}

    def settle_pending_delivery(self, content_id: str, account_id: str, delivery_key: str, outcome: str | None,
                                now: datetime, reason: str = "settled by the platform's status webhook") -> bool:
        """An ambiguous post's in-flight delivery is settled by the platform's word — `outcome` is the message id,
        a failure mark, or None for "not delivered: send it again" — and the post is queued so the rest of it goes
        out. False unless the post was waiting on exactly this."""
        move_for([PostStatus.AMBIGUOUS], PostStatus.QUEUED, claimed=False)
        sets = "#status = :queued, wake_pk = :wake, wake_at = :now, way_pk = :way, updated_at = :now, reason = :reason"
        values: dict[str, Any] = {
            ":queued": str(PostStatus.QUEUED), ":wake": WAKE_PARTITION, ":now": to_iso(now),
            ":way": ON_ITS_WAY_PARTITION, ":reason": reason, ":ambiguous": str(PostStatus.AMBIGUOUS),
            ":key": delivery_key}
        names = {"#status": "status"}
        if outcome is not None:
            sets = "deliveries.#d = :outcome, delivery_revisions.#d = revision, " + sets
            values[":outcome"] = outcome
            names["#d"] = delivery_key
        return self._update(f"CONTENT#{content_id}", f"POST#{account_id}",
                            f"SET {sets} REMOVE pending_delivery, check_first, claim",
                            "#status = :ambiguous AND pending_delivery = :key", names, to_values(values))

    def record_in_flight_delivery(self, content_id: str, account_id: str, delivery_key: str, message_id: str) -> bool:
        """The platform says the message being sent went out: record it now — the worker may have died after
        the call (if it lives, it writes the same id)."""
        return self._update(
            f"CONTENT#{content_id}", f"POST#{account_id}",
            "SET deliveries.#d = :mid, delivery_revisions.#d = revision REMOVE pending_delivery",
            "#status = :publishing AND pending_delivery = :key", {"#d": delivery_key, "#status": "status"},
            to_values({":mid": message_id, ":key": delivery_key, ":publishing": str(PostStatus.PUBLISHING)}))

    def reopen_delivery(self, content_id: str, account_id: str, delivery_key: str, message_id: str, now: datetime,
                        reason: str, waiting: Iterable[PostStatus]) -> str:
        """The platform reported a sent message failed for a reason a later try fixes: forget that it went, so the
        post sends it again. "reopened" — a published post is queued again for it, a waiting one will include it;
        "busy" — a worker holds the post now, ask again later; "gone" — the post does not count it as sent."""
        move_for([PostStatus.PUBLISHED], PostStatus.QUEUED, claimed=False)
        key = {"#d": delivery_key, "#status": "status"}
        common = {":mid": message_id}
        if self._update(f"CONTENT#{content_id}", f"POST#{account_id}",
                        "SET #status = :queued, wake_pk = :wake, wake_at = :now, way_pk = :way, updated_at = :now, "
                        "reason = :reason REMOVE deliveries.#d",
                        "#status = :published AND deliveries.#d = :mid", key, to_values({
                            **common, ":queued": str(PostStatus.QUEUED), ":wake": WAKE_PARTITION,
                            ":way": ON_ITS_WAY_PARTITION,
                            ":now": to_iso(now), ":reason": reason, ":published": str(PostStatus.PUBLISHED)})):
            return "reopened"
        statuses = {f":w{i}": str(s) for i, s in enumerate(waiting)}
        if self._update(f"CONTENT#{content_id}", f"POST#{account_id}", "REMOVE deliveries.#d",
                        f"#status IN ({', '.join(statuses)}) AND deliveries.#d = :mid", key,
                        to_values({**common, **statuses})):
            return "reopened"
        post = self.post(content_id, account_id)
        if post is not None and post.status is PostStatus.PUBLISHING and (
                post.deliveries.get(delivery_key) == message_id or post.pending_delivery == delivery_key):
            return "busy"
        return "gone"

    def wake_due(self, now: datetime, limit: int) -> list[tuple[str, str, PostStatus, str]]:
        """(content id, account id, status, wake_at) of posts whose wake time has come, oldest first."""
        due = []
        for item in self._query(IndexName=WAKE_INDEX, Limit=min(limit, 500),
                                KeyConditionExpression="wake_pk = :p AND wake_at <= :now",
                                ExpressionAttributeValues={":p": to_value(WAKE_PARTITION),
                                                           ":now": to_value(to_iso(now))}):
            due.append((item["pk"].removeprefix("CONTENT#"), item["sk"].removeprefix("POST#"),
                        PostStatus(item["status"]), item["wake_at"]))
            if len(due) >= limit:
                break
        return due

    def next_wake_at(self) -> datetime | None:
        response = self._call("query", IndexName=WAKE_INDEX, Limit=1,
                              KeyConditionExpression="wake_pk = :p",
                              ExpressionAttributeValues={":p": to_value(WAKE_PARTITION)})
        items = response.get("Items", [])
        return from_iso(items[0]["wake_at"]["S"]) if items else None

    def oldest_due_on_its_way(self, now: datetime, excluding: Collection[tuple[str, str]] = ()) -> datetime | None:
        """The due time of the oldest post past due and still on its way out (scheduled, queued, publishing or in
        doubt — not held on purpose), None when there is none: how late publishing is, whatever its wake time.
        `excluding`: (content id, account id) of posts to pass over."""
        skip = {post_key(content_id, account_id) for content_id, account_id in excluding}
        for item in self._query(IndexName=ON_ITS_WAY_INDEX, Limit=len(skip) + 1,
                                KeyConditionExpression="way_pk = :p AND scope_sk < :now",
                                ExpressionAttributeValues={":p": to_value(ON_ITS_WAY_PARTITION),
                                                           ":now": to_value(to_iso(now))}):
            if (item["pk"], item["sk"]) not in skip:
                return due_from_scope_key(item["scope_sk"])
        return None

    def posts_in_scope(self, scope: str, *, due_from: datetime | None = None,
                       due_before: datetime | None = None) -> Iterator[Post]:
        """The scope's posts by due time; with `due_from` / `due_before`, only those due in that span (a range of
        the index, so only those are read)."""
        condition, values = "scope_pk = :p", {":p": to_value(f"SCOPE#{scope}")}
        start, end = to_iso(due_from) if due_from else "0", to_iso(due_before) if due_before else "~"  # 0 < times < ~
        if due_from is not None or due_before is not None:
            condition += " AND scope_sk BETWEEN :from AND :to"
            values.update({":from": to_value(start), ":to": to_value(end)})
        for item in self._query(IndexName=SCOPE_INDEX, KeyConditionExpression=condition,
                                ExpressionAttributeValues=values):
            yield post_from(item)

    def posts_done_in_scope(self, scope: str, *, done_from: datetime, done_before: datetime) -> Iterator[Post]:
        """The scope's posts that reached a final state (published, failed, expired, …) in that span, however late
        after their due time — read from the by_done index. Whether each is still there: see its status."""
        condition = "done_pk = :p AND done_at BETWEEN :f AND :t"
        for item in self._query(IndexName=DONE_INDEX, KeyConditionExpression=condition,
                                ExpressionAttributeValues={":p": to_value(f"SCOPE#{scope}"),
                                                           ":f": to_value(to_iso(done_from)),
                                                           ":t": to_value(to_iso(done_before))}):
            yield post_from(item)

    # ---- account state --------------------------------------------------------------------------
    def account_state(self, account_id: str) -> AccountState:
        return account_state_from(account_id, self._get(f"ACCOUNT#{account_id}", "STATE"))

    def account_states(self, account_ids: Iterable[str]) -> dict[str, AccountState]:
        """account_state() of each account, in batch reads (strongly consistent)."""
        ids = list(dict.fromkeys(account_ids))
        found = {item["pk"].removeprefix("ACCOUNT#"): item
                 for item in self._batch_get_all([{"pk": f"ACCOUNT#{a}", "sk": "STATE"} for a in ids])}
        return {a: account_state_from(a, found.get(a)) for a in ids}

    def throttle_account(self, account_id: str, until: datetime, reason: str, now: datetime) -> bool:
        """Throttled until `until`, unless already throttled for longer or waiting for a person."""
        return self._update(
            f"ACCOUNT#{account_id}", "STATE", "SET health = :t, #until = :u, reason = :r, updated_at = :now",
            "attribute_not_exists(pk) OR (health <> :bad AND (attribute_not_exists(#until) OR #until < :u))",
            {"#until": "until"}, to_values({
                ":t": str(Health.THROTTLED), ":u": to_iso(until), ":r": reason, ":now": to_iso(now),
                ":bad": str(Health.UNHEALTHY)}))

    def reserve_recipient(self, account_id: str, recipient: str, now: datetime, spacing: timedelta) -> bool:
        """Take the account's next slot to message `recipient` (a digest): False while the last one taken is less
        than `spacing` old. One conditional write, so two publishers racing for the same person never both win."""
        return self._update(
            _pair_key(account_id, recipient), recipient,
            "SET free_at_ms = :next, updated_at = :at, expires_at = :gone",
            "attribute_not_exists(pk) OR free_at_ms <= :now",
            {}, to_values({":next": epoch_milliseconds(now + spacing), ":now": epoch_milliseconds(now),
                          ":at": to_iso(now), ":gone": int((now + PAIR_KEPT).timestamp())}))

    def forget_recipient(self, account_id: str, recipient: str) -> None:
        """An erased person's slot goes at once (it expires after a day anyway)."""
        self._call("delete_item", Key=to_item({"pk": _pair_key(account_id, recipient), "sk": recipient}))

    def free_recipient(self, account_id: str, recipient: str, now: datetime, spacing: timedelta) -> bool:
        """Give back the slot `reserve_recipient(…, now, spacing)` took, when nothing was sent in it — unless a
        later reservation holds it by now."""
        try:
            self._call("delete_item", Key=to_item({"pk": _pair_key(account_id, recipient), "sk": recipient}),
                       raise_conditional=True, ConditionExpression="free_at_ms = :ours",
                       ExpressionAttributeValues=to_values({":ours": epoch_milliseconds(now + spacing)}))
        except _ConditionFailed:
            return False
        return True

    def mark_account_unhealthy(self, account_id: str, reason: str, now: datetime) -> bool:
        """True when this call is the one that found it unhealthy (so one alert is written, not many)."""
        return self._update(
            f"ACCOUNT#{account_id}", "STATE", "SET health = :bad, reason = :r, updated_at = :now REMOVE #until",
            "attribute_not_exists(pk) OR health <> :bad", {"#until": "until"},
            to_values({":bad": str(Health.UNHEALTHY), ":r": reason, ":now": to_iso(now)}))

    def mark_account_healthy(self, account_id: str, now: datetime) -> bool:
        """Record a good check; True when it was unhealthy before. One conditional write: a throttle that a
        publisher records at the same moment is never wiped (a good token does not lift a rate limit)."""
        try:
            response = self._call(
                "update_item", raise_conditional=True, Key=to_item({"pk": f"ACCOUNT#{account_id}", "sk": "STATE"}),
                UpdateExpression="SET health = :ok, checked_at = :now, updated_at = :now REMOVE #until, reason",
                ConditionExpression="attribute_not_exists(pk) OR health <> :throttled OR attribute_not_exists(#until) "
                                    "OR #until <= :now",
                ExpressionAttributeNames={"#until": "until"}, ReturnValues="ALL_OLD",
                ExpressionAttributeValues=to_values({":ok": str(Health.HEALTHY), ":now": to_iso(now),
                                                    ":throttled": str(Health.THROTTLED)}))
        except _ConditionFailed:
            self._update(f"ACCOUNT#{account_id}", "STATE", "SET checked_at = :now", "attribute_exists(pk)", {},
                         {":now": to_value(to_iso(now))})
            return False
        before = from_item(response.get("Attributes") or {})
        return before.get("health") == str(Health.UNHEALTHY)

    # ---- activity -------------------------------------------------------------------------------
    def add_activity(self, entry: ActivityEntry) -> ActivityEntry:
        # Real nanoseconds break ties between entries written at one (possibly simulated) instant.
        entry_id = f"{to_iso(entry.at)}#{time.time_ns():016x}{secrets.token_hex(2)}"
        self._put(activity_item(entry, entry_id))
        return ActivityEntry(**{**entry.__dict__, "entry_id": entry_id})

    def activity_on(self, day: date, *, scope_prefix: str | None = None, scopes: Collection[str] | None = None,
                    after: str | None = None, limit: int = 200, newest_first: bool = True) -> list[ActivityEntry]:
        """A day's entries: of `scope_prefix` and the scopes under it, and only of `scopes` when given."""
        condition = "pk = :pk" + (" AND sk > :after" if after else "")
        values = {":pk": to_value(f"ACTIVITY#{day.isoformat()}")}
        if after:
            values[":after"] = to_value(after)
        query: dict[str, Any] = {"KeyConditionExpression": condition, "ScanIndexForward": not newest_first}
        if scope_prefix:
            query["FilterExpression"] = "#scope = :scope OR begins_with(#scope, :child)"
            query["ExpressionAttributeNames"] = {"#scope": "scope"}
            values.update({":scope": to_value(scope_prefix), ":child": to_value(scope_prefix.rstrip("/") + "/")})
        query["ExpressionAttributeValues"] = values
        entries = []
        for item in self._query(**query):
            entry = activity_from(item)
            if scopes is not None and entry.scope not in scopes:
                continue  # filtered here, not in the query: a viewer may see more scopes than IN takes (100)
            entries.append(entry)
            if len(entries) >= limit:
                break
        return entries

    # ---- plumbing -------------------------------------------------------------------------------
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self._call("get_item", Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        """Strongly consistent, whatever DynamoDB leaves unprocessed read again (after a short pause)."""
        found: list[dict[str, Any]] = []
        request = {self._table: {"Keys": [to_item(key) for key in keys], "ConsistentRead": True}}
        for attempt in range(8):
            try:
                response = self._db.batch_get_item(RequestItems=request)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                raise PersistenceError(f"DynamoDB BatchGetItem failed: {code}") from exc
            found += [from_item(item) for item in response.get("Responses", {}).get(self._table, [])]
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            time.sleep(0.05 * 2 ** attempt)
        raise PersistenceError("DynamoDB BatchGetItem left keys unprocessed after 8 tries")

    def _batch_get_all(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        """_batch_get of any number of keys, 100 a request (DynamoDB's limit)."""
        return [item for start in range(0, len(keys), BATCH_GET_LIMIT)
                for item in self._batch_get(keys[start:start + BATCH_GET_LIMIT])]

    def _put(self, item: dict[str, Any], *, condition: str | None = None,
             values: dict[str, Any] | None = None, names: dict[str, str] | None = None) -> bool:
        request: dict[str, Any] = {"Item": to_item(item)}
        if condition:
            request["ConditionExpression"] = condition
        if values:
            request["ExpressionAttributeValues"] = values
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            self._call("put_item", raise_conditional=True, **request)
        except _ConditionFailed:
            return False
        return True

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            response = self._call("query", **kwargs)
            for item in response.get("Items", []):
                yield from_item(item)
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _update(self, pk: str, sk: str, expression: str, condition: str, names: dict[str, str],
                values: dict[str, Any]) -> bool:
        return self._update_returning(pk, sk, expression, condition, names, values, returning="NONE") is not None

    def _update_returning(self, pk: str, sk: str, expression: str, condition: str, names: dict[str, str],
                          values: dict[str, Any], returning: str = "ALL_NEW") -> dict[str, Any] | None:
        """The item as the update left it (with `returning="NONE"`: {}), or None when the condition failed."""
        request = {"Key": to_item({"pk": pk, "sk": sk}), "UpdateExpression": expression,
                   "ConditionExpression": condition, "ExpressionAttributeValues": values, "ReturnValues": returning}
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            response = self._call("update_item", raise_conditional=True, **request)
        except _ConditionFailed:
            return None
        return from_item(response.get("Attributes") or {})

    def _call(self, operation: str, raise_conditional: bool = False, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._db, operation)(TableName=self._table, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException" and raise_conditional:
                raise _ConditionFailed() from None
            raise PersistenceError(f"DynamoDB {operation} failed: {code}") from exc


class _ConditionFailed(Exception):
    pass


def _reach_counts(item: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in item.items() if k not in ("pk", "sk", "members")}


PAIR_KEPT = timedelta(days=1)  # a slot matters for seconds; DynamoDB's TTL removes it after this


def _pair_key(account_id: str, recipient: str) -> str:
    """A number's pair-rate slots over 16 partitions: a broadcast takes ~1,000 slots a second, and one partition key
    takes at most 1,000 writes a second."""
    return f"PAIR#{account_id}#{recipient[:1]}"
