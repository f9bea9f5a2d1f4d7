"""Meraki-style pagination: perPage bounds, opaque startingAfter/endingBefore tokens and the Link header."""

import base64
import bisect
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .errors import ApiError

__all__ = ('Listing', 'Paging', 'decode_token', 'encode_token', 'paginate')

FIRST_KEY = ''
LAST_KEY = '\U0010ffff'  # sorts after every real key
PAGING_PARAMS = ('perPage', 'startingAfter', 'endingBefore')


@dataclass
class Listing:
    """What a paginated endpoint pages through.

    ``entries`` are ``(key, source, network_id)`` tuples sorted by key; keys are unique strings and the tokens
    in links point at them, so paging stays exact while the data changes. ``build`` turns a source into the
    item sent; it runs only for the items of the page.
    """

    entries: list
    build: Any = None

    def items(self, entries):
        """The items sent for some entries."""
        build = self.build or (lambda source: source)
        return [build(source) for _key, source, _network in entries]


@dataclass(frozen=True)
class Paging:
    """Page size bounds of an endpoint and its response shape."""

    minimum: int
    maximum: int
    default: int
    envelope: bool = False  # {"items": [...], "meta": {...}} instead of a bare list
    newest_first: bool = False  # without a token, answer the last page, items in reverse (change logs)


def encode_token(key):
    """An opaque page token for a key."""
    return base64.urlsafe_b64encode(('k' + key).encode()).decode().rstrip('=')


def decode_token(token):
    """The key behind a page token; ValueError if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + '=' * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError(token) from None
    if not raw.startswith('k'):
        raise ValueError(token)
    return raw[1:]


def _token_param(params, name):
    values = params.get(name)
    if not values:
        return None
    try:
        return decode_token(values[0])
    except ValueError:
        raise ApiError(400, f"Invalid '{name}' token") from None


def per_page(params, paging):
    """The page size asked for, checked against the endpoint's bounds."""
    values = params.get('perPage')
    if not values:
        return paging.default
    try:
        size = int(values[0])
    except ValueError:
        size = None
    if size is None or not paging.minimum <= size <= paging.maximum:
        raise ApiError(400, f"'perPage' must be an integer between {paging.minimum} and {paging.maximum}")
    return size


def paginate(listing, paging, params, path, drop_next=False):
    """One page of a listing: the JSON-ready body and the Link header.

    ``path`` is the request path below the API base; links are relative to the base URL (the SDK prefixes
    the base URL to any link whose host is not a Meraki one).
    """
    size = per_page(params, paging)
    after, before = _token_param(params, 'startingAfter'), _token_param(params, 'endingBefore')
    entries = listing.entries
    keys = [entry[0] for entry in entries]
    if after is not None:
        start = bisect.bisect_right(keys, after)
        end = min(len(keys), start + size)
    elif before is not None:
        end = bisect.bisect_left(keys, before)
        start = max(0, end - size)
    elif paging.newest_first:
        end = len(keys)
        start = max(0, end - size)
    else:
        start, end = 0, min(len(keys), size)
    items = listing.items(entries[start:end])
    if paging.newest_first:
        items.reverse()
    base = [(name, value) for name, values in params.items() if name not in PAGING_PARAMS for value in values]

    def link(token_name, key, rel):
        query = urlencode([*base, ('perPage', size), (token_name, encode_token(key))], safe='[]')
        return f'<{path}?{query}>; rel={rel}'

    links = [link('startingAfter', FIRST_KEY, 'first')]
    if start > 0:
        links.append(link('endingBefore', keys[start] if start < len(keys) else LAST_KEY, 'prev'))
    if end < len(keys) and not drop_next:
        links.append(link('startingAfter', keys[end - 1] if end else FIRST_KEY, 'next'))
    links.append(link('endingBefore', LAST_KEY, 'last'))
    body = items
    if paging.envelope:
        body = {'items': items, 'meta': {'counts': {'items': {'total': len(keys), 'remaining': len(keys) - end}}}}
    return body, ', '.join(links)
