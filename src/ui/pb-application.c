/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-application"

#include "config.h"

#include <locale.h>
#include <glib/gi18n.h>

#include "pb-application.h"
#include "pb-window.h"

struct _PbApplication
{
  AdwApplication    parent_instance;

  PbAccountManager *account_manager;
  /* Why the account list could not be read, shown in the first window. */
  GError           *load_error;
};

G_DEFINE_FINAL_TYPE (PbApplication, pb_application, ADW_TYPE_APPLICATION)

/**
 * pb_application_init_i18n:
 *
 * Sets up gettext for the process: the locale from the environment and the catalogue folder.
 *
 * The catalogues are looked up in LOCALEDIR from the build configuration, unless the
 * environment variable `POSTBOTE_LOCALEDIR` names another folder. The UI tests and a demo run
 * from the build tree set it to `<build>/po`, where the build writes
 * `de/LC_MESSAGES/postbote.mo`, so the translation can be seen without installing.
 */
void
pb_application_init_i18n (void)
{
  const char *localedir = g_getenv ("POSTBOTE_LOCALEDIR");

  if (localedir == NULL || *localedir == '\0')
    localedir = LOCALEDIR;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}

PbApplication *
pb_application_new (void)
{
  return g_object_new (PB_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/postbote/Postbote",
                       NULL);
}

/**
 * pb_application_get_account_manager:
 * @self: a #PbApplication
 *
 * Returns: (transfer none): the accounts, loaded when the application started up
 */
PbAccountManager *
pb_application_get_account_manager (PbApplication *self)
{
  g_return_val_if_fail (PB_IS_APPLICATION (self), NULL);

  return self->account_manager;
}

static PbWindow *
pb_application_ensure_window (PbApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (PB_IS_WINDOW (window))
    return PB_WINDOW (window);

  window = GTK_WINDOW (pb_window_new (GTK_APPLICATION (self), self->account_manager));
  if (self->load_error != NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Could not read the account list: %s"),
                                                  self->load_error->message);
      pb_window_show_error (PB_WINDOW (window), message);
      g_clear_error (&self->load_error);
    }

  return PB_WINDOW (window);
}

static void
pb_application_activate (GApplication *application)
{
  PbApplication *self = PB_APPLICATION (application);

  gtk_window_present (GTK_WINDOW (pb_application_ensure_window (self)));
}

static void
pb_application_open (GApplication  *application,
                     GFile        **files,
                     int            n_files,
                     const char    *hint)
{
  PbApplication *self = PB_APPLICATION (application);

  /* mailto: links will open the composer once there is one; until then they bring up the
   * window, so that clicking such a link is never silently ignored. */
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *uri = g_file_get_uri (files[i]);
      g_debug ("Asked to open %s; composing is not implemented yet", uri);
    }

  gtk_window_present (GTK_WINDOW (pb_application_ensure_window (self)));
}

static void
pb_application_quit_action (GSimpleAction *action,
                            GVariant      *parameter,
                            gpointer       user_data)
{
  PbApplication *self = user_data;
  g_autoptr (GList) windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));

  /* Closing (not destroying) the windows lets each save its size, as on a normal close. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);

  g_application_quit (G_APPLICATION (self));
}

static void
pb_application_about_action (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  PbApplication *self = user_data;
  static const char *developers[] = { "The Postbote developers", NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "modal", TRUE,
                        "application-name", "Postbote",
                        "application-icon", APP_ID,
                        "version", PACKAGE_VERSION,
                        "developer-name", "The Postbote developers",
                        "developers", developers,
                        "copyright", "© The Postbote developers",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        /* Translators: Replace with your names, one name per line. */
                        "translator-credits", _("translator-credits"),
                        "comments", _("Read and write email"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = pb_application_quit_action },
  { .name = "about", .activate = pb_application_about_action },
};

static void
pb_application_startup (GApplication *application)
{
  PbApplication *self = PB_APPLICATION (application);
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *close_accels[] = { "<Control>w", NULL };

  G_APPLICATION_CLASS (pb_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "window.close", close_accels);

  /* The account list is one small key file on the local disk; everything that can be slow
   * (the servers) is asynchronous. */
  self->account_manager = pb_account_manager_new (NULL);
  if (!pb_account_manager_load (self->account_manager, &self->load_error))
    g_warning ("Could not read the account list: %s", self->load_error->message);
}

static void
pb_application_dispose (GObject *object)
{
  PbApplication *self = PB_APPLICATION (object);

  g_clear_object (&self->account_manager);
  g_clear_error (&self->load_error);

  G_OBJECT_CLASS (pb_application_parent_class)->dispose (object);
}

static void
pb_application_class_init (PbApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = pb_application_dispose;

  app_class->startup = pb_application_startup;
  app_class->activate = pb_application_activate;
  app_class->open = pb_application_open;
}

static void
pb_application_init (PbApplication *self)
{
}
