from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import APIRootView
from rest_framework.views import APIView

from netbox.api.authentication import TokenPermissions
from netbox.api.viewsets import ETagMixin, NetBoxReadOnlyModelViewSet
from utilities.permissions import get_permission_for_model

from .. import filtersets
from ..choices import RunTriggerChoices
from ..fetch import FetchError, list_organizations
from ..models import Change, PluginSettings, SyncRun
from ..networks import known_networks
from ..permissions import APPROVE_ACTION, APPROVE_CHANGE, RUN_SYNC
from ..review_queue import undo_rejections
from ..secrets import redact
from ..sync import (
    MerakiSyncService,
    SyncAlreadyRunning,
    SyncRefused,
    apply_review,
    approve_changes,
    cancel_run,
    dashboard_client,
    interrupt_dead_runs,
    reject_changes,
    turn_into_review,
)
from ..webhooks import (
    MalformedAlert,
    authenticate,
    ignore_reason,
    queue_sync,
    read_alert,
    webhook_secret,
)
from . import serializers

__all__ = (
    'ChangeViewSet',
    'ConnectionTestView',
    'KnownNetworkListView',
    'MerakiRootView',
    'PluginSettingsView',
    'SyncRunChangeViewSet',
    'SyncRunViewSet',
    'WebhookView',
)



class MerakiRootView(APIRootView):
    """
    Meraki API root view
    """

    def get_view_name(self):
        return 'Meraki'

    def get(self, request, *args, **kwargs):
        self.api_root_dict = {**self.api_root_dict, 'settings': 'settings'}
        return super().get(request, *args, **kwargs)


class TokenActionPermission(TokenPermissions):
    """
    Requires one named permission for a POST (an action such as running a sync), in place of the "add" permission
    a POST otherwise maps to. The token must still allow writes.
    """

    def __init__(self, permission):
        super().__init__()
        self.perms_map = {**self.perms_map, 'POST': [permission]}


class ActionPermissionsMixin:
    # View action -> the permission its POST needs.
    action_permissions = {}

    def get_permissions(self):
        if permission := self.action_permissions.get(self.action):
            return [TokenActionPermission(permission)]
        return super().get_permissions()

    def require(self, permission, obj, verb):
        """Refuse (403) when the user's object permissions exclude this object."""
        if not self.request.user.has_perm(permission, obj=obj):
            raise PermissionDenied(_('You do not have permission to {verb} {obj}.').format(verb=verb, obj=obj))


def refusal(exc, request, code=status.HTTP_409_CONFLICT):
    """The response for a sync, apply, cancel or review the run's state does not allow."""
    data = {'detail': redact(exc)}
    if isinstance(exc, SyncAlreadyRunning):
        data['run'] = serializers.SyncRunSerializer(exc.run, nested=True, context={'request': request}).data
    return Response(data, status=code)


REVIEW_RESPONSES = {
    409: OpenApiResponse(description='The run is not awaiting review.'),
}


# No class docstrings on the viewsets with actions: NetBox's schema would show it in place of each action's own.
class SyncRunViewSet(ActionPermissionsMixin, NetBoxReadOnlyModelViewSet):
    queryset = SyncRun.objects.all()
    serializer_class = serializers.SyncRunSerializer
    filterset_class = filtersets.SyncRunFilterSet
    action_permissions = {
        'sync': RUN_SYNC,
        'cancel': RUN_SYNC,
        'approve': APPROVE_CHANGE,
        'reject': APPROVE_CHANGE,
        'apply': APPROVE_CHANGE,
        'turn_into_review': RUN_SYNC,
    }

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == 'GET':
            interrupt_dead_runs()  # a run whose process is gone reads as interrupted, not running

    def get_run(self, pk):
        """The run, if the user may view it (404 otherwise)."""
        return get_object_or_404(SyncRun.objects.restrict(self.request.user, 'view'), pk=pk)

    def respond(self, run, code=status.HTTP_200_OK):
        run = self.get_run(run.pk)
        return Response(self.get_serializer(run).data, status=code)

    @extend_schema(
        request=serializers.SyncRequestSerializer,
        responses={
            202: serializers.SyncResultSerializer,
            400: OpenApiResponse(description='Invalid request, or nothing to sync.'),
            409: OpenApiResponse(description='Every organization asked for is already syncing.'),
            502: OpenApiResponse(description='The Meraki Dashboard API could not be read.'),
        },
    )
    @action(detail=False, methods=['post'])
    def sync(self, request):
        """
        Start a sync of each organization (the given ones, else the configured ones, else every one the API key
        sees), as one background job per organization. Returns the runs started, and the organizations refused
        because a sync of theirs is already running.
        """
        body = serializers.SyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        service = MerakiSyncService(user=request.user, trigger=RunTriggerChoices.API)
        try:
            runs = service.sync_all(
                mode=body.validated_data.get('mode'),
                organization_ids=body.validated_data.get('organization_ids'),
                network_ids=body.validated_data.get('network_ids'),
                background=True,
                full_read=body.validated_data['full_read'],
            )
        except SyncAlreadyRunning as exc:
            return refusal(exc, request)
        except SyncRefused as exc:
            return refusal(exc, request, status.HTTP_400_BAD_REQUEST)
        except FetchError as exc:
            return Response({'detail': redact(exc)}, status=status.HTTP_502_BAD_GATEWAY)
        result = serializers.SyncResultSerializer(
            {
                'runs': runs,
                'refused': [
                    {'organization_id': exc.run.organization_id, 'run': exc.run, 'detail': redact(exc)}
                    for exc in service.refused
                ],
            },
            context=self.get_serializer_context(),
        )
        return Response(result.data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={200: serializers.SyncRunSerializer, 409: OpenApiResponse(description='The run has finished.')},
    )
    @action(detail=True, methods=['post'])
    def cancel(self, request, pk):
        """
        Ask a pending or running run to stop at its next safe point. A run still waiting for a worker is cancelled
        at once; changes applied before the stop stay applied.
        """
        run = self.get_run(pk)
        self.require(RUN_SYNC, run, _('cancel'))
        try:
            cancel_run(run)
        except SyncRefused as exc:
            return refusal(exc, request)
        return self.respond(run)

    def review(self, request, pk, decide, counted):
        run = self.get_run(pk)
        body = serializers.ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # Only the changes the user's object permissions allow to be approved.
        allowed = Change.objects.restrict(request.user, APPROVE_ACTION).filter(run=run)
        if (change_ids := body.validated_data.get('changes')) is not None:
            allowed = allowed.filter(pk__in=change_ids)
        try:
            count = decide(run, list(allowed.values_list('pk', flat=True)))
        except SyncRefused as exc:
            return refusal(exc, request)
        return Response({counted: count})

    @extend_schema(
        request=serializers.ReviewSerializer,
        responses={
            200: inline_serializer('ApproveResult', {'approved': drf_serializers.IntegerField()}),
            **REVIEW_RESPONSES,
        },
    )
    @action(detail=True, methods=['post'])
    def approve(self, request, pk):
        """
        Approve the run's pending and held changes: all of them, or those listed in `changes`. Returns how many.
        """
        return self.review(request, pk, approve_changes, 'approved')

    @extend_schema(
        request=serializers.ReviewSerializer,
        responses={
            200: inline_serializer('RejectResult', {'rejected': drf_serializers.IntegerField()}),
            **REVIEW_RESPONSES,
        },
    )
    @action(detail=True, methods=['post'])
    def reject(self, request, pk):
        """
        Reject the run's pending and held changes: all of them, or those listed in `changes`. Returns how many.
        """
        return self.review(request, pk, reject_changes, 'rejected')

    @extend_schema(
        request=None,
        responses={
            202: serializers.SyncRunSerializer,
            409: OpenApiResponse(
                description='The run is not awaiting review, has no approved change, or its organization is syncing.'
            ),
        },
    )
    @action(detail=True, methods=['post'])
    def apply(self, request, pk):
        """
        Apply the run's approved changes as a background job. Returns the run, with the job.
        """
        run = self.get_run(pk)
        try:
            apply_review(run, user=request.user, background=True)
        except SyncRefused as exc:
            return refusal(exc, request)
        return self.respond(run, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={
            202: serializers.SyncRunSerializer,
            409: OpenApiResponse(description='The run is not a finished dry run, or its organization is syncing.'),
        },
    )
    @action(detail=True, methods=['post'], url_path='turn-into-review')
    def turn_into_review(self, request, pk):
        """
        Turn a finished dry run into a review: start a review-mode run of the same organization and networks, as a
        background job that reads Meraki again and plans anew. Needs run_syncrun and approve_change. Returns the new
        run, with its job.
        """
        dry_run = self.get_run(pk)
        self.require(RUN_SYNC, dry_run, _('sync'))
        self.require(APPROVE_CHANGE, None, _('review'))
        try:
            run = turn_into_review(dry_run, user=request.user, trigger=RunTriggerChoices.API)
        except SyncRefused as exc:
            return refusal(exc, request)
        return self.respond(run, status.HTTP_202_ACCEPTED)


class ChangeViewSet(ActionPermissionsMixin, NetBoxReadOnlyModelViewSet):
    queryset = Change.objects.all()
    serializer_class = serializers.ChangeSerializer
    filterset_class = filtersets.ChangeFilterSet
    action_permissions = {
        'approve': APPROVE_CHANGE,
        'reject': APPROVE_CHANGE,
        'undo_rejection': APPROVE_CHANGE,
    }

    def decide(self, request, pk, decide, verb):
        change = get_object_or_404(Change.objects.restrict(request.user, 'view'), pk=pk)
        self.require(APPROVE_CHANGE, change, _('review'))
        try:
            count = decide(change.run, [change.pk])
        except SyncRefused as exc:
            return refusal(exc, request)
        change.refresh_from_db()
        if not count:
            return Response(
                {'detail': f'Change #{change.pk} is {change.get_state_display().lower()}: only pending or held '
                           f'changes can be {verb}.'},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(self.get_serializer(change).data)

    @extend_schema(
        request=None,
        responses={200: serializers.ChangeSerializer, 409: OpenApiResponse(description='Not pending or held.')},
    )
    @action(detail=True, methods=['post'])
    def approve(self, request, pk):
        """
        Approve one pending or held change of a run awaiting review.
        """
        return self.decide(request, pk, approve_changes, 'approved')

    @extend_schema(
        request=None,
        responses={200: serializers.ChangeSerializer, 409: OpenApiResponse(description='Not pending or held.')},
    )
    @action(detail=True, methods=['post'])
    def reject(self, request, pk):
        """
        Reject one pending or held change of a run awaiting review.
        """
        return self.decide(request, pk, reject_changes, 'rejected')

    @extend_schema(
        request=None,
        responses={
            200: serializers.ChangeSerializer,
            409: OpenApiResponse(description='Not rejected, or its rejection no longer stands.'),
        },
    )
    @action(detail=True, methods=['post'], url_path='undo-rejection')
    def undo_rejection(self, request, pk):
        """
        Undo the rejection of one change: pending again in a run awaiting review; in a finished run the rejection is
        forgotten, and the next run plans the change as any other.
        """
        change = get_object_or_404(Change.objects.restrict(request.user, 'view'), pk=pk)
        self.require(APPROVE_CHANGE, change, _('review'))
        if not undo_rejections(Change.objects.filter(pk=change.pk)):
            return Response(
                {'detail': f'Change #{change.pk} is {change.get_state_display().lower()}: there is no rejection of it '
                           f'to undo.'},
                status=status.HTTP_409_CONFLICT,
            )
        change.refresh_from_db()
        return Response(self.get_serializer(change).data)


class SyncRunChangeViewSet(NetBoxReadOnlyModelViewSet):
    """
    The changes one sync run planned.
    """
    queryset = Change.objects.all()
    serializer_class = serializers.ChangeSerializer
    filterset_class = filtersets.ChangeFilterSet

    def list(self, request, *args, **kwargs):
        # 404 for a run the user may not view, rather than an empty list.
        get_object_or_404(SyncRun.objects.restrict(request.user, 'view'), pk=kwargs['run_pk'])
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        return super().get_queryset().filter(run_id=self.kwargs['run_pk'])


class PluginSettingsView(ETagMixin, GenericAPIView):
    """
    The plugin's settings (a single object). The Meraki API key is configured in PLUGINS_CONFIG and never shown.
    """
    queryset = PluginSettings.objects.all()
    serializer_class = serializers.PluginSettingsSerializer
    permission_classes = [TokenPermissions]

    def get_object(self):
        PluginSettings.load()
        action = 'view' if self.request.method in ('GET', 'HEAD') else 'change'
        obj = get_object_or_404(PluginSettings.objects.restrict(self.request.user, action), pk=1)
        self.check_object_permissions(self.request, obj)
        return obj

    def get(self, request):
        obj = self.get_object()
        response = Response(self.get_serializer(obj).data)
        if etag := self._get_etag(obj):
            response['ETag'] = etag
        return response

    def put(self, request):
        return self.update(request, partial=False)

    def patch(self, request):
        return self.update(request, partial=True)

    def update(self, request, partial):
        obj = self.get_object()
        self._validate_etag(request, obj)
        # The changelog records the settings before and after.
        obj.snapshot()
        serializer = self.get_serializer(obj, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            serializer.save()
        obj = PluginSettings.objects.get(pk=obj.pk)
        response = Response(self.get_serializer(obj).data)
        if etag := self._get_etag(obj):
            response['ETag'] = etag
        return response


class KnownNetworkListView(GenericAPIView):
    """
    The Meraki networks the plugin knows (whose site it owns, or that it has read), by name: what the network pickers
    of Sync now and the settings offer. Filters: organization_id (repeatable), q (part of the name or id).
    """
    serializer_class = serializers.KnownNetworkSerializer
    permission_classes = [IsAuthenticated]
    # Those who start syncs or see the settings pick networks.
    PICKERS = (RUN_SYNC, get_permission_for_model(PluginSettings, 'view'))

    @extend_schema(responses={200: serializers.KnownNetworkSerializer(many=True)})
    def get(self, request):
        if not any(request.user.has_perm(permission) for permission in self.PICKERS):
            raise PermissionDenied(_('You do not have permission to pick Meraki networks.'))
        networks = known_networks(request.query_params.getlist('organization_id'))
        if query := request.query_params.get('q', '').strip().lower():
            networks = [network for network in networks if query in network.label.lower()]
        page = self.paginate_queryset(networks)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class ConnectionTestView(GenericAPIView):
    """
    Ask the Meraki Dashboard API, with the configured key, which organizations it sees.
    """
    queryset = PluginSettings.objects.all()
    serializer_class = serializers.ConnectionTestSerializer

    def get_permissions(self):
        return [TokenActionPermission(get_permission_for_model(PluginSettings, 'view'))]

    @extend_schema(request=None, responses={200: serializers.ConnectionTestSerializer})
    def post(self, request):
        client = None
        try:
            client = dashboard_client()
            organizations = [
                {'id': str(organization.get('id')), 'name': organization.get('name', '')}
                for organization in list_organizations(client)
            ]
        except FetchError as exc:
            data = {'ok': False, 'organizations': [], 'detail': redact(exc)}
        else:
            data = {'ok': True, 'organizations': organizations, 'detail': ''}
        finally:
            if client:
                client.close()
        return Response(self.get_serializer(data).data)



class WebhookView(APIView):
    """
    Receives Meraki webhook alerts. Meraki sends no NetBox token: the alert's shared secret authenticates it.
    """
    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(
        auth=[],
        request=inline_serializer('MerakiWebhookAlert', {
            'sharedSecret': drf_serializers.CharField(),
            'organizationId': drf_serializers.CharField(),
            'networkId': drf_serializers.CharField(required=False),
            'alertTypeId': drf_serializers.CharField(),
        }),
        responses={
            200: OpenApiResponse(description='Ignored: the alert concerns nothing the plugin syncs.'),
            202: OpenApiResponse(description='The network is queued for the next webhook sync.'),
            400: OpenApiResponse(description='Not a Meraki alert.'),
            403: OpenApiResponse(description='Wrong or missing shared secret.'),
            404: OpenApiResponse(description='Webhooks are off (no webhook_secret configured).'),
        },
    )
    def post(self, request):
        if not webhook_secret():
            return Response(
                {'detail': "Meraki webhooks are off: set PLUGINS_CONFIG['netbox_meraki']['webhook_secret']."},
                status=status.HTTP_404_NOT_FOUND,
            )
        try:
            body = request.data
        except ParseError:
            body = None
        if not isinstance(body, dict):
            return Response({'detail': 'The body must be a JSON object.'}, status=status.HTTP_400_BAD_REQUEST)
        if not authenticate(body, source=request.META.get('REMOTE_ADDR')):
            return Response({'detail': 'Wrong or missing shared secret.'}, status=status.HTTP_403_FORBIDDEN)
        try:
            alert = read_alert(body)
        except MalformedAlert as exc:
            return Response({'detail': str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        if reason := ignore_reason(alert, PluginSettings.load()):
            return Response({'detail': f'Ignored: {reason}.', 'queued': False})
        queue_sync(alert.organization_id, [alert.network_id])
        return Response(
            {'detail': f'Network {alert.network_id} is queued for the next webhook sync of organization '
                       f'{alert.organization_id}.', 'queued': True},
            status=status.HTTP_202_ACCEPTED,
        )
