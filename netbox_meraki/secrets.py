"""
The API key and the webhook secret must never be shown: every message that leaves the plugin passes through
redact().
"""

from netbox.plugins import get_plugin_config

__all__ = ('redact',)

REDACTED = '[redacted]'


def redact(text):
    text = str(text)
    for setting in ('api_key', 'webhook_secret'):
        secret = get_plugin_config('netbox_meraki', setting)
        if secret and len(secret) >= 8:
            text = text.replace(secret, REDACTED)
    return text
