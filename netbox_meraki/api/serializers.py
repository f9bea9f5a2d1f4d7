from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers_.jobs import JobSerializer
from netbox.api.fields import ChoiceField
from netbox.api.serializers import BaseModelSerializer, ValidatedModelSerializer
from netbox.api.serializers.features import ChangeLogMessageSerializer
from netbox.plugins import get_plugin_config
from users.api.serializers_.users import UserSerializer

from ..choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, RunTriggerChoices, SyncModeChoices
from ..models import Change, PluginSettings, SyncRun
from ..secrets import redact

__all__ = (
    'ChangeSerializer',
    'ConnectionTestSerializer',
    'PluginSettingsSerializer',
    'ReviewSerializer',
    'SyncRefusalSerializer',
    'SyncRequestSerializer',
    'SyncResultSerializer',
    'SyncRunSerializer',
)


def absolute_url(request, path):
    return request.build_absolute_uri(path) if request else path


class ObjectURLMixin(serializers.Serializer):
    """display_url from the model's own get_absolute_url(), wherever the web UI routes it."""

    display_url = serializers.SerializerMethodField(read_only=True)

    @extend_schema_field(OpenApiTypes.URI)
    def get_display_url(self, obj):
        return absolute_url(self.context.get('request'), obj.get_absolute_url())


class SyncRunSerializer(ObjectURLMixin, BaseModelSerializer):
    mode = ChoiceField(choices=SyncModeChoices, read_only=True)
    status = ChoiceField(choices=RunStatusChoices, read_only=True)
    trigger = ChoiceField(choices=RunTriggerChoices, read_only=True)
    user = UserSerializer(nested=True, read_only=True, allow_null=True)
    job = JobSerializer(
        nested=True, read_only=True, allow_null=True,
        fields=('id', 'url', 'display', 'status', 'created', 'started', 'completed'),
    )
    duration = serializers.SerializerMethodField(
        read_only=True, help_text="Seconds from start to completion of the plan (a review's apply has its own times).",
    )

    class Meta:
        model = SyncRun
        fields = (
            'id', 'url', 'display_url', 'display', 'request_id', 'organization_id', 'organization_name', 'network_ids',
            'mode', 'full_read', 'status', 'trigger', 'user', 'job', 'created', 'started', 'completed', 'duration',
            'review_started', 'review_completed', 'phase', 'phase_started', 'progress_done', 'progress_total',
            'progress_detail', 'api_calls', 'api_rate_limited', 'counts', 'timings', 'error', 'log', 'cancel_requested',
        )
        read_only_fields = fields
        brief_fields = ('id', 'url', 'display', 'organization_id', 'organization_name', 'mode', 'status', 'created')

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration(self, obj):
        return obj.duration.total_seconds() if obj.duration is not None else None

    def to_representation(self, instance):
        # The engine stores only redacted text; redacting again here keeps the key out even of an old row.
        data = super().to_representation(instance)
        if data.get('error'):
            data['error'] = redact(data['error'])
        if data.get('log'):
            data['log'] = [{**line, 'message': redact(line.get('message', ''))} for line in data['log']]
        return data


class ChangeSerializer(ObjectURLMixin, BaseModelSerializer):
    run = SyncRunSerializer(nested=True, read_only=True)
    action = ChoiceField(choices=ChangeActionChoices, read_only=True)
    state = ChoiceField(choices=ChangeStateChoices, read_only=True)
    cascade = serializers.JSONField(read_only=True, help_text=(
        'What NetBox would delete with the object of a delete or mark change: a list of {"type", "id", "name", '
        '"owned" (whether the plugin owns it and removes it in the same plan), "url"}, at most 50, possibly ending '
        'with {"type", "more": <number not listed>}.'
    ))

    class Meta:
        model = Change
        fields = (
            'id', 'url', 'display_url', 'display', 'run', 'sequence', 'action', 'kind', 'meraki_id', 'object_id',
            'object_repr', 'scope', 'before', 'after', 'state', 'reason', 'cascade',
        )
        read_only_fields = fields
        brief_fields = ('id', 'url', 'display', 'action', 'kind', 'object_repr', 'state')


class PluginSettingsSerializer(ChangeLogMessageSerializer, ValidatedModelSerializer):
    url = serializers.SerializerMethodField(read_only=True)
    display_url = serializers.SerializerMethodField(read_only=True)
    default_sync_mode = ChoiceField(choices=SyncModeChoices, required=False)
    scheduled_sync_mode = ChoiceField(choices=SyncModeChoices, required=False)
    base_url = serializers.SerializerMethodField(
        read_only=True, help_text="The Dashboard API URL, from PLUGINS_CONFIG (not editable here).",
    )
    api_key_configured = serializers.SerializerMethodField(
        read_only=True, help_text="Whether PLUGINS_CONFIG holds an API key. The key itself is never returned.",
    )

    # JSON settings that model validation reads as objects; anything else is refused before it gets there.
    OBJECT_FIELDS = ('role_names', 'status_map', 'delete_policy', 'prefix_filters', 'name_transforms', 'extra_tags')

    class Meta:
        model = PluginSettings
        fields = (
            'id', 'url', 'display_url', 'display', 'base_url', 'api_key_configured',
            'default_sync_mode', 'organization_ids', 'network_ids', 'adopt_existing', 'manufacturer_name',
            'role_names', 'status_map', 'delete_policy', 'deletion_threshold', 'vrf_per_network',
            'sync_disabled_ssids', 'sync_inventory', 'sync_switch_stacks', 'inventory_site_name',
            'tenant_per_organization', 'site_name_rules', 'interface_name_rules', 'prefix_filters', 'name_transforms',
            'extra_tags', 'enable_scheduled_sync', 'sync_interval_minutes', 'scheduled_sync_mode', 'full_read_hours',
            'last_scheduled_sync', 'next_scheduled_sync', 'schedule_failed_at', 'schedule_failure', 'created',
            'last_updated',
        )
        read_only_fields = (
            'id', 'last_scheduled_sync', 'next_scheduled_sync', 'schedule_failed_at', 'schedule_failure', 'created',
            'last_updated',
        )

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj):
        return absolute_url(self.context.get('request'), reverse('plugins-api:netbox_meraki-api:settings'))

    @extend_schema_field(OpenApiTypes.URI)
    def get_display_url(self, obj):
        return absolute_url(self.context.get('request'), obj.get_absolute_url())

    @extend_schema_field(OpenApiTypes.URI)
    def get_base_url(self, obj):
        return get_plugin_config('netbox_meraki', 'base_url')

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_api_key_configured(self, obj):
        return bool(get_plugin_config('netbox_meraki', 'api_key'))

    def validate(self, data):
        errors = {
            field: ['Enter a JSON object.'] for field in self.OBJECT_FIELDS
            if field in data and not isinstance(data[field], dict)
        }
        if errors:
            raise serializers.ValidationError(errors)
        return super().validate(data)


class SyncRequestSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=SyncModeChoices, required=False,
        help_text='auto, review or dry_run; the default sync mode of the settings when left out.',
    )
    organization_ids = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text='Organizations to sync; the configured ones (else every one the API key sees) when left out.',
    )
    network_ids = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text='Networks to sync; the configured ones when left out, every network when empty.',
    )
    full_read = serializers.BooleanField(
        required=False, default=False,
        help_text='Read every network from Meraki, not only those whose configuration changed since the last read.',
    )


class SyncRefusalSerializer(serializers.Serializer):
    organization_id = serializers.CharField()
    run = SyncRunSerializer(nested=True, help_text='The run already syncing the organization.')
    detail = serializers.CharField()


class SyncResultSerializer(serializers.Serializer):
    runs = SyncRunSerializer(many=True, help_text='The runs started, one per organization.')
    refused = SyncRefusalSerializer(many=True, help_text='Organizations not started because a sync is running.')


class ReviewSerializer(serializers.Serializer):
    changes = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False,
        help_text="IDs of the run's changes to approve or reject; all its pending and held changes when left out.",
    )


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    organizations = serializers.ListField(child=serializers.DictField(), help_text='id and name of each one.')
    detail = serializers.CharField(allow_blank=True)


class KnownNetworkSerializer(serializers.Serializer):
    id = serializers.CharField(help_text='The Meraki network id.')
    display = serializers.CharField(source='label', help_text='Its name and id, as the network pickers show it.')
    name = serializers.CharField(allow_blank=True)
    organization_id = serializers.CharField()
