from django.urls import include, path
from django.views.generic import RedirectView

from utilities.urls import get_model_urls

from . import views

urlpatterns = [
    # NetBox's menu marks an item active when its address begins the page's: the dashboard has an address of its own
    # (the plugin's root would mark it on every plugin page), and the root leads to it.
    path('', RedirectView.as_view(pattern_name='plugins:netbox_meraki:dashboard'), name='home'),
    path('dashboard/', views.DashboardView.as_view(), name='dashboard'),
    path('dashboard/active-runs/', views.DashboardActiveRunsView.as_view(), name='dashboard_active_runs'),
    path('sync/', views.SyncNowView.as_view(), name='sync'),
    path('review/', views.ReviewView.as_view(), name='review'),

    # Runs and their changes
    path('runs/', include(get_model_urls('netbox_meraki', 'syncrun', detail=False))),
    path('runs/<int:pk>/', include(get_model_urls('netbox_meraki', 'syncrun'))),
    path('changes/', include(get_model_urls('netbox_meraki', 'change', detail=False))),
    path('changes/<int:pk>/', include(get_model_urls('netbox_meraki', 'change'))),

    # Configuration, one page per tab
    path('settings/', views.ConnectionSettingsView.as_view(), name='settings'),
    path('settings/test-connection/', views.ConnectionTestView.as_view(), name='settings_test_connection'),
    path('settings/organizations/', views.OrganizationSettingsView.as_view(), name='settings_organizations'),
    path('settings/mapping/', views.MappingSettingsView.as_view(), name='settings_mapping'),
    path('settings/rules/', views.RulesSettingsView.as_view(), name='settings_rules'),
    path('settings/rules/preview/site-name/', views.SiteNamePreviewView.as_view(), name='settings_preview_site_name'),
    path(
        'settings/rules/preview/interface-name/', views.InterfaceNamePreviewView.as_view(),
        name='settings_preview_interface_name',
    ),
    path('settings/rules/preview/prefix/', views.PrefixPreviewView.as_view(), name='settings_preview_prefix'),
    path('settings/cleanup/', views.CleanupSettingsView.as_view(), name='settings_cleanup'),
    path('settings/scheduling/', views.SchedulingSettingsView.as_view(), name='settings_scheduling'),
    path('settings/scheduling/status/', views.ScheduleStatusView.as_view(), name='settings_schedule_status'),
]
