"""The API key must never be shown: every message that leaves the plugin passes through redact()."""

from netbox.plugins import get_plugin_config

__all__ = ('redact',)

REDACTED = '[redacted]'


def redact(text):
    text = str(text)
    api_key = get_plugin_config('netbox_meraki', 'api_key')
    if api_key and len(api_key) >= 8:
        text = text.replace(api_key, REDACTED)
    return text
