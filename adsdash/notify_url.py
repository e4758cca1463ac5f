"""Apprise URLs as settings: split a list given as one string, tell them apart, show them safely.

An Apprise URL carries its secrets anywhere: `slack://TokenA/TokenB/TokenC`, `tgram://BOT_TOKEN/CHAT`,
`mailto://user:password@host`, `json://host/path?token=...`. So a URL is never printed whole:
`mask_url` keeps the scheme, and the host only when it reads as a host name (it has a dot, or is
localhost, or an IP address), and hides everything else; `url_key` (a hash) names a URL in the
store. Stdlib only and light: `adsdash config` and `adsdash health` use it.
"""

from __future__ import annotations

import re

HIDDEN = "****"
# A list in one string (an environment variable): split at white space, and at a comma that
# starts the next URL (a comma inside a URL, say `to=a@x,b@y`, stays).
_SPLIT = re.compile(r"\s+|,+(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]{0,31})://")
_HOST = re.compile(r"^(?:localhost|\[[0-9A-Fa-f:.]+\]|(?=[A-Za-z0-9-]*\.)[A-Za-z0-9.-]{1,253})$")


def split_urls(value: str | list | tuple) -> tuple[str, ...]:
    """The URLs of a setting: a list of strings (the TOML file), or one string of URLs separated by
    white space or commas (the environment). TypeError for anything else."""
    if isinstance(value, str):
        parts = _SPLIT.split(value)
    elif isinstance(value, (list, tuple)) and all(isinstance(one, str) for one in value):
        parts = [piece for one in value for piece in _SPLIT.split(one)]
    else:
        raise TypeError("expected a list of Apprise URLs or one string of them")
    return tuple(part.strip(", ") for part in parts if part.strip(", "))


def split_words(value: str | list | tuple) -> tuple[str, ...]:
    """A list setting of plain words (event kinds): a list, or one string split at spaces and commas."""
    if isinstance(value, str):
        return tuple(word for word in re.split(r"[\s,]+", value) if word)
    if isinstance(value, (list, tuple)) and all(isinstance(one, str) for one in value):
        return tuple(word for one in value for word in split_words(one))
    raise TypeError("expected a list of words or one string of them")


def scheme_of(url: str) -> str | None:
    match = _SCHEME.match(url)
    return match[1].lower() if match else None


def url_key(url: str) -> str:
    """What names a URL in the store: a hash, never the URL (the store is not for secrets)."""
    import hashlib  # here: a submit reads the settings (split_urls) and needs no hash (~5 ms)

    return hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _parts(url: str) -> tuple[str | None, str | None, str | None, str | None, str]:
    """(scheme, user info, host, port, the rest) of a URL, by hand: urllib would take a token
    with a colon (`tgram://123:ABC/chat`) for a host and a port, and refuse it."""
    scheme = scheme_of(url)
    rest = url[len(scheme) + 3:] if scheme else url
    authority, sep, tail = rest.partition("/")
    if not sep:
        authority, _, query = authority.partition("?")
        tail = "?" + query if query else ""
    else:
        tail = "/" + tail
    user, at, hostport = authority.rpartition("@")
    host, port = hostport, None
    if ":" in hostport and not hostport.endswith("]"):
        head, _, maybe_port = hostport.rpartition(":")
        if maybe_port.isdigit():
            host, port = head, maybe_port
    return scheme, user if at else None, host, port, tail


def mask_url(url: str) -> str:
    """`json://127.0.0.1:8080/****`, `mailto://****@gmail.com`, `slack://****/****`: the scheme, the
    host when it is one (not a token in a host's place), the port; the rest hidden."""
    scheme, user, host, port, tail = _parts(url)
    if scheme is None:
        return f"{HIDDEN} (not a URL)"
    shown = f"{scheme}://"
    if user is not None:
        shown += f"{HIDDEN}@"
    shown += host if host and _HOST.match(host) else HIDDEN
    if port:
        shown += f":{port}"
    if tail.strip("/?"):
        shown += f"/{HIDDEN}"
    return shown


def labelled(url: str) -> str:
    """mask_url and the start of url_key, so two URLs masked alike can still be told apart."""
    return f"{mask_url(url)} #{url_key(url)[:6]}"


def scrub(text: str, url: str) -> str:
    """`text` (an error said by Apprise or a library) with the URL's secret parts hidden."""
    _scheme, user, host, _port, tail = _parts(url)
    secrets = [url, *re.split(r"[/?&=:@#,]+", f"{user or ''}:{tail}")]
    if host and not _HOST.match(host):
        secrets.append(host)
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text
