"""The console's pages: / (the inbox), /mentions/<id>/ and its actions, /login/ and /logout/."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("mentions/<int:mention_id>/", views.mention_page, name="mention"),
    path("mentions/<int:mention_id>/length/", views.reply_length_view, name="length"),
    path("mentions/<int:mention_id>/take/", views.take, name="take"),
    path("mentions/<int:mention_id>/assign/", views.assign, name="assign"),
    path("mentions/<int:mention_id>/send/", views.send, name="send"),
    path("mentions/<int:mention_id>/escalate/", views.escalate, name="escalate"),
    path("paste/", views.paste, name="paste"),
    path("mentions/<int:mention_id>/dismiss/", views.dismiss, name="dismiss"),
    path("mentions/<int:mention_id>/nothing-fits/", views.nothing_fits, name="nothing-fits"),
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="console:login"), name="logout"),
]
