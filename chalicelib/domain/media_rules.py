"""What each platform accepts as media, checked at upload so a team hears about it at once."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import Problem

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaRule:
    types: dict[str, int]      # content type → largest size in bytes
    most_images: int
    most_videos: int
    mixed: bool = False        # may images and a video go together?


RULES = {
    # X: up to 4 images, or 1 GIF or video; images 5 MB, GIF 15 MB, video 512 MB (v2 media upload).
    "x": MediaRule({"image/jpeg": 5 * MB, "image/png": 5 * MB, "image/webp": 5 * MB, "image/gif": 15 * MB,
                    "video/mp4": 512 * MB, "video/quicktime": 512 * MB}, most_images=4, most_videos=1),
    # Facebook Page: one photo by link (10 MB) or one video by resumable upload (1 GB here).
    "facebook": MediaRule({"image/jpeg": 10 * MB, "image/png": 10 * MB, "image/gif": 10 * MB,
                           "video/mp4": 1024 * MB, "video/quicktime": 1024 * MB}, most_images=1, most_videos=1),
    # WhatsApp Cloud API: one image (5 MB, JPEG/PNG) or one video (16 MB, MP4) per message.
    "whatsapp": MediaRule({"image/jpeg": 5 * MB, "image/png": 5 * MB, "video/mp4": 16 * MB},
                          most_images=1, most_videos=1),
}


def media_problems(platforms: list[str], media: list[dict], sizes: dict[str, int | None]) -> list[Problem]:
    """media: [{"key", "content_type"}]; sizes: key → bytes in the bucket (None: not uploaded)."""
    problems: list[Problem] = []
    for index, item in enumerate(media):
        if sizes.get(item["key"]) is None:
            problems.append(Problem(f"media[{index}]", f"{item['key']} is not in the bucket",
                                    "upload the media file first, then upload the manifest again"))
    if problems:
        return problems
    for platform in platforms:
        rule = RULES[platform]
        images = [m for m in media if m["content_type"].startswith("image/") and m["content_type"] != "image/gif"]
        videos = [m for m in media if m not in images]
        if len(images) > rule.most_images or len(videos) > rule.most_videos or (images and videos and not rule.mixed):
            problems.append(Problem("media", f"{platform} takes at most {rule.most_images} image(s) or "
                                    f"{rule.most_videos} video/GIF per post; this post has {len(media)} file(s)",
                                    f"send fewer files, or a separate manifest for {platform}"))
        for index, item in enumerate(media):
            name = item["key"].rsplit("/", 1)[-1]
            limit = rule.types.get(item["content_type"])
            if limit is None:
                problems.append(Problem(f"media[{index}]", f"{platform} does not accept {item['content_type']} "
                                        f"({name})", f"use one of {', '.join(sorted(rule.types))}"))
            elif sizes[item["key"]] > limit:
                problems.append(Problem(f"media[{index}]", f"{name} is {sizes[item['key']] / MB:.1f} MB; {platform} "
                                        f"takes at most {limit // MB} MB", "compress it or send a smaller file"))
    return problems
