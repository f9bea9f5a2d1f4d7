import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from netbox_meraki import validate_settings
from netbox_meraki.choices import SyncModeChoices
from netbox_meraki.models import PluginSettings


def test_plugin_is_installed_and_registered():
    from netbox.registry import registry

    assert apps.is_installed('netbox_meraki')
    assert 'netbox_meraki' in registry['plugins']['installed']


@pytest.mark.django_db
def test_migrations_are_complete_and_applied():
    # Fails when a model change has no migration.
    call_command('makemigrations', 'netbox_meraki', check=True, dry_run=True, verbosity=0)
    settings = PluginSettings.load()
    assert settings.pk == 1
    assert settings.default_sync_mode == SyncModeChoices.REVIEW


@pytest.mark.django_db
def test_settings_are_a_singleton():
    PluginSettings.load()
    other = PluginSettings(default_sync_mode=SyncModeChoices.AUTO)
    other.save()
    assert PluginSettings.objects.count() == 1
    assert PluginSettings.load().default_sync_mode == SyncModeChoices.AUTO


@pytest.mark.django_db
def test_api_status_lists_the_plugin(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    response = client.get('/api/status/')
    assert response.status_code == 200
    assert 'netbox_meraki' in response.json()['plugins']


@pytest.mark.django_db
def test_menu_renders_for_a_logged_in_user(admin_client):
    response = admin_client.get('/')
    assert response.status_code == 200
    content = response.content.decode()
    assert reverse('plugins:netbox_meraki:dashboard') in content
    assert 'Meraki' in content


@pytest.mark.django_db
def test_dashboard_needs_the_view_permission(client, django_user_model, admin_client):
    url = reverse('plugins:netbox_meraki:dashboard')
    assert admin_client.get(url).status_code == 200
    user = django_user_model.objects.create_user(username='nobody', password='x')
    client.force_login(user)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize('key,value,message', [
    ('base_url', 'ftp://example.com', 'http(s) URL'),
    ('request_timeout', 0, 'number >= 1'),
    ('requests_per_second', 25, "Meraki's limit"),
    ('api_key', 123, 'must be a string'),
    ('run_retention_days', -1, 'whole number of days >= 0'),
    ('run_retention_days', 7.5, 'whole number of days >= 0'),
])
def test_invalid_plugin_settings_are_refused_with_the_reason(settings, key, value, message):
    config = dict(settings.PLUGINS_CONFIG['netbox_meraki'])
    config[key] = value
    with override_settings(PLUGINS_CONFIG={**settings.PLUGINS_CONFIG, 'netbox_meraki': config}):
        with pytest.raises(ImproperlyConfigured, match=message.replace('(', r'\(').replace(')', r'\)')):
            validate_settings()
