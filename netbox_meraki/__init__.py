"""netbox-meraki: keep NetBox in step with the Cisco Meraki Dashboard."""

from django.core.exceptions import ImproperlyConfigured

from netbox.plugins import PluginConfig, get_plugin_config

__version__ = '0.1.0'

DEFAULT_BASE_URL = 'https://api.meraki.com/api/v1'


class NetBoxMerakiConfig(PluginConfig):
    name = 'netbox_meraki'
    verbose_name = 'Meraki'
    description = 'Keep NetBox in step with the Cisco Meraki Dashboard'
    version = __version__
    author = 'netbox-meraki developers'
    base_url = 'meraki'
    graphql_schema = 'graphql.schema.schema'
    min_version = '4.7.0'
    max_version = '4.7.99'
    required_settings = []
    default_settings = {
        # Read from the environment in configuration.py; never stored in the database or shown.
        'api_key': '',
        'base_url': DEFAULT_BASE_URL,
        # Seconds before one Dashboard API request is abandoned, and attempts per request (429, 5xx).
        'request_timeout': 30,
        'maximum_retries': 4,
        # Share of the organization's 10 requests/s this plugin may use; the rest is left to other tools.
        'requests_per_second': 8,
        # Username the changelog attributes sync changes to (created when missing).
        'sync_user': 'meraki-sync',
        # Seconds a sync job may run on the RQ worker (a first sync of a large organization takes a while).
        'job_timeout': 6 * 3600,
        # Days a run, its changes and its log are kept (0: forever); see housekeeping.py.
        'run_retention_days': 90,
        # Shared secret of the Meraki webhook receiver (docs/SCHEDULING_GUIDE.md); '' turns webhooks off. Read from
        # the environment in configuration.py, like the API key.
        'webhook_secret': '',
        # Alerts of one organization within this many seconds become one sync of the networks they name.
        'webhook_debounce_seconds': 60,
    }

    def ready(self):
        super().ready()
        validate_settings()
        from . import event_types, housekeeping, signals, widgets  # noqa: F401


def validate_settings():
    """Refuse to start with settings that cannot work, naming the setting and the reason."""
    base_url = get_plugin_config('netbox_meraki', 'base_url')
    if not isinstance(base_url, str) or not base_url.startswith(('http://', 'https://')):
        raise ImproperlyConfigured(
            f"PLUGINS_CONFIG['netbox_meraki']['base_url'] must be an http(s) URL, not {base_url!r}."
        )
    for key, minimum in (
        ('request_timeout', 1), ('maximum_retries', 1), ('requests_per_second', 1), ('job_timeout', 60),
        ('webhook_debounce_seconds', 1),
    ):
        value = get_plugin_config('netbox_meraki', key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < minimum:
            raise ImproperlyConfigured(
                f"PLUGINS_CONFIG['netbox_meraki']['{key}'] must be a number >= {minimum}, not {value!r}."
            )
    retention = get_plugin_config('netbox_meraki', 'run_retention_days')
    if not isinstance(retention, int) or isinstance(retention, bool) or retention < 0:
        raise ImproperlyConfigured(
            f"PLUGINS_CONFIG['netbox_meraki']['run_retention_days'] must be a whole number of days >= 0 (0 keeps "
            f"every run), not {retention!r}."
        )
    if get_plugin_config('netbox_meraki', 'requests_per_second') > 10:
        raise ImproperlyConfigured(
            "PLUGINS_CONFIG['netbox_meraki']['requests_per_second'] cannot exceed Meraki's limit of 10 per "
            "organization."
        )
    api_key = get_plugin_config('netbox_meraki', 'api_key')
    if api_key is not None and not isinstance(api_key, str):
        raise ImproperlyConfigured("PLUGINS_CONFIG['netbox_meraki']['api_key'] must be a string.")
    webhook_secret = get_plugin_config('netbox_meraki', 'webhook_secret')
    if webhook_secret is not None and not isinstance(webhook_secret, str):
        raise ImproperlyConfigured("PLUGINS_CONFIG['netbox_meraki']['webhook_secret'] must be a string.")


config = NetBoxMerakiConfig
