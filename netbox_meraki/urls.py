from django.urls import path

from . import views

urlpatterns = [
    path('', views.DashboardView.as_view(), name='dashboard'),
    path('settings/', views.SettingsView.as_view(), name='settings'),
    path('runs/<int:pk>/', views.SyncRunView.as_view(), name='syncrun'),
]
