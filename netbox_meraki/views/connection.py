from django.core.cache import cache
from django.shortcuts import render

from netbox.plugins import get_plugin_config

from ..fetch import FetchError, list_organizations
from ..secrets import redact
from ..sync import dashboard_client
from .mixins import PermissionRequiredView

__all__ = ('ConnectionTestView', 'connection_context', 'visible_organizations')

ORGANIZATIONS_CACHE_KEY = 'netbox_meraki.organizations'
ORGANIZATIONS_CACHE_SECONDS = 300


def connection_context():
    """Where the plugin talks to Meraki, and whether it has a key: never the key itself."""
    return {
        'base_url': get_plugin_config('netbox_meraki', 'base_url'),
        'api_key_configured': bool(get_plugin_config('netbox_meraki', 'api_key')),
        'request_timeout': get_plugin_config('netbox_meraki', 'request_timeout'),
        'maximum_retries': get_plugin_config('netbox_meraki', 'maximum_retries'),
        'requests_per_second': get_plugin_config('netbox_meraki', 'requests_per_second'),
        'sync_user': get_plugin_config('netbox_meraki', 'sync_user'),
    }


def visible_organizations(refresh=False):
    """
    (organizations, error): the organizations the API key sees, as {'id', 'name', 'url'}, or the reason they could
    not be read. A successful answer is kept for a few minutes, so that forms do not ask Meraki on every view.
    """
    key = f'{ORGANIZATIONS_CACHE_KEY}:{get_plugin_config("netbox_meraki", "base_url")}'
    if not refresh and (organizations := cache.get(key)) is not None:
        return organizations, ''
    client = None
    try:
        client = dashboard_client()
        organizations = [
            {'id': str(org.get('id')), 'name': org.get('name') or '', 'url': org.get('url') or ''}
            for org in list_organizations(client)
        ]
    except FetchError as exc:
        return [], redact(exc)
    finally:
        if client:
            client.close()
    cache.set(key, organizations, ORGANIZATIONS_CACHE_SECONDS)
    return organizations, ''


class ConnectionTestView(PermissionRequiredView):
    """Ask Meraki, with the configured key, which organizations it sees (an HTMX POST; answers a fragment)."""

    permission_required = 'netbox_meraki.view_pluginsettings'
    http_method_names = ['post']

    def post(self, request):
        organizations, error = visible_organizations(refresh=True)
        return render(request, 'netbox_meraki/inc/connection_test.html', {
            'organizations': organizations,
            'error': error,
            **connection_context(),
        })
