"""A daily series: items without a time take one slot a day, in upload order, until the campaign ends."""


from chalicelib.domain.post import content_id_for


def item(world, client, n):
    key = f"content/constituency/sahada/series/vikas-{n:02d}.yaml"
    world.put(key, f"title: विकास गाथा {n}\ntext: सहाड़ा विकास गाथा, भाग {n}\nplatforms: [facebook]\n"
                   "series: vikas-gatha\n")
    client.lambda_.invoke("on_content_upload", world.s3_event(key))
    return key


def test_items_take_the_next_daily_slot_and_keep_it_on_re_upload(active, client):
    keys = [item(active, client, n) for n in (1, 2, 3)]
    due = [active.container.store.post(content_id_for(k), "fb-sahada").due_at.isoformat() for k in keys]
    assert due == ["2021-03-03T03:30:00+00:00", "2021-03-04T03:30:00+00:00", "2021-03-05T03:30:00+00:00"]
    active.put(keys[0], "title: विकास गाथा 1\ntext: बदला हुआ\nplatforms: [facebook]\nseries: vikas-gatha\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(keys[0]))
    assert active.container.store.post(content_id_for(keys[0]), "fb-sahada").due_at.isoformat() == due[0]


def test_a_series_stops_before_the_silence_and_says_so(active, client):
    active.at("2021-04-14T10:00:00+05:30")
    first = item(active, client, 1)
    assert active.container.store.post(content_id_for(first), "fb-sahada").due_at.isoformat() == \
        "2021-04-15T03:30:00+00:00"
    late = item(active, client, 2)  # 16 April is silent and 17 April is polling day: no slot left
    report = active.error_report(late)
    assert report["problems"][0]["field"] == "series"
    assert "no daily slot left" in report["problems"][0]["problem"]
