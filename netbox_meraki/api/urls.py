from django.urls import path

from netbox.api.routers import NetBoxRouter

from . import views

app_name = 'netbox_meraki-api'

router = NetBoxRouter()
router.APIRootView = views.MerakiRootView

router.register('runs', views.SyncRunViewSet)
router.register('changes', views.ChangeViewSet)

urlpatterns = [
    path(
        'runs/<int:run_pk>/changes/',
        views.SyncRunChangeViewSet.as_view({'get': 'list'}),
        name='syncrun-changes',
    ),
    path('settings/', views.PluginSettingsView.as_view(), name='settings'),
    path('settings/test-connection/', views.ConnectionTestView.as_view(), name='settings-test-connection'),
    path('networks/', views.KnownNetworkListView.as_view(), name='networks'),
    path('webhooks/', views.WebhookView.as_view(), name='webhooks'),
    *router.urls,
]
