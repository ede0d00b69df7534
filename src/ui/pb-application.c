/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-application"

#include "config.h"

#include <locale.h>
#include <glib/gi18n.h>

#include "pb-application.h"
#include "pb-composer.h"
#include "pb-window.h"

struct _PbApplication
{
  AdwApplication    parent_instance;

  PbAccountManager *account_manager;
  /* Why the account list could not be read, shown in the first window. */
  GError           *load_error;

  /* The local mail store, opened on a worker thread at start-up (NULL until then), and the
   * outbox that sends through it. */
  PbStore          *store;
  PbOutbox         *outbox;
  /* mailto: links that arrived before the store was open. */
  GPtrArray        *pending_compose;
  gboolean          store_opening;
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

  gboolean composed = FALSE;

  /* mailto: links open a composer each; anything else brings up the window, so that nothing
   * handed to Postbote is silently ignored. */
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *uri = g_file_get_uri (files[i]);

      if (g_ascii_strncasecmp (uri, "mailto:", 7) == 0)
        {
          pb_application_compose (self, uri);
          composed = TRUE;
        }
      else
        g_debug ("Asked to open %s, which is not a mailto: link", uri);
    }

  if (composed)
    return;
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

static void
pb_application_compose_action (GSimpleAction *action,
                               GVariant      *parameter,
                               gpointer       user_data)
{
  pb_application_compose (PB_APPLICATION (user_data), g_variant_get_string (parameter, NULL));
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = pb_application_quit_action },
  { .name = "compose", .activate = pb_application_compose_action, .parameter_type = "s" },
  { .name = "about", .activate = pb_application_about_action },
};

/* The store and the outbox */

static void
outbox_loaded_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(PbApplication) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!pb_outbox_load_finish (PB_OUTBOX (source), result, &error))
    g_warning ("Could not read the outbox: %s", error->message);
  /* Messages left from the last run go out now. */
  pb_outbox_start (PB_OUTBOX (source));
}

static void
store_open_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  g_autofree char *dir = pb_default_data_dir ();
  GError *error = NULL;
  PbStore *store = pb_store_open (dir, &error);
  g_autoptr(GPtrArray) paths = NULL;
  GPtrArray *drafts;

  if (store == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Drafts left behind by a run that stopped while a message was being written. */
  drafts = g_ptr_array_new_with_free_func (g_object_unref);
  paths = pb_draft_list_saved (NULL);
  for (guint i = 0; i < paths->len; i++)
    {
      g_autoptr(GError) draft_error = NULL;
      PbDraft *draft = pb_draft_load (g_ptr_array_index (paths, i), &draft_error);

      if (draft != NULL)
        g_ptr_array_add (drafts, draft);
      else
        g_warning ("Could not read the draft %s: %s", (char *) g_ptr_array_index (paths, i),
                   draft_error->message);
    }
  g_object_set_data_full (G_OBJECT (store), "pb-leftover-drafts", drafts,
                          (GDestroyNotify) g_ptr_array_unref);
  g_task_return_pointer (task, store, g_object_unref);
}

static void
store_opened_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  PbApplication *self = PB_APPLICATION (source);
  g_autoptr(GError) error = NULL;
  PbStore *store = g_task_propagate_pointer (G_TASK (result), &error);

  g_application_release (G_APPLICATION (self));
  self->store_opening = FALSE;
  if (store == NULL)
    g_warning ("Could not open the mail store: %s", error->message);
  else
    {
      self->store = store;
      self->outbox = pb_outbox_new (NULL, self->account_manager, self->store);
      pb_outbox_load_async (self->outbox, NULL, outbox_loaded_cb, g_object_ref (self));
    }

  if (self->pending_compose != NULL)
    {
      g_autoptr(GPtrArray) pending = g_steal_pointer (&self->pending_compose);

      for (guint i = 0; i < pending->len; i++)
        pb_application_compose (self, g_ptr_array_index (pending, i));
    }

  if (store != NULL)
    {
      g_autoptr(GPtrArray) drafts = g_object_steal_data (G_OBJECT (store), "pb-leftover-drafts");

      /* Nothing is lost: what was being written when the program stopped opens again. */
      for (guint i = 0; drafts != NULL && i < drafts->len; i++)
        gtk_window_present (GTK_WINDOW (pb_composer_new_for_draft (self, store,
                                                                   g_ptr_array_index (drafts, i))));
    }
}

/* The store is SQLite on disk: opened off the UI thread, like everything else that touches
 * it. The application is held meanwhile, so that a composer opened for a mailto: link at
 * start-up finds it. */
static void
open_store (PbApplication *self)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, store_opened_cb, NULL);

  g_application_hold (G_APPLICATION (self));
  self->store_opening = TRUE;
  g_task_set_source_tag (task, open_store);
  g_task_run_in_thread (task, store_open_thread);
}

/**
 * pb_application_get_store:
 *
 * Returns: (transfer none) (nullable): the local mail store, or %NULL while it is being opened
 *   (or when it could not be)
 */
PbStore *
pb_application_get_store (PbApplication *self)
{
  g_return_val_if_fail (PB_IS_APPLICATION (self), NULL);
  return self->store;
}

/**
 * pb_application_get_outbox:
 *
 * Returns: (transfer none) (nullable): the outbox every composer queues into, or %NULL while
 *   the store is being opened
 */
PbOutbox *
pb_application_get_outbox (PbApplication *self)
{
  g_return_val_if_fail (PB_IS_APPLICATION (self), NULL);
  return self->outbox;
}

/**
 * pb_application_compose:
 * @mailto: (nullable): a mailto: URI, or %NULL or "" for an empty message
 *
 * Opens a composer window (what `app.compose` does).
 */
void
pb_application_compose (PbApplication *self,
                        const char    *mailto)
{
  PbComposer *composer;

  g_return_if_fail (PB_IS_APPLICATION (self));

  /* Without the store there is no outbox to send through: wait for it (a moment at start). */
  if (self->store_opening)
    {
      if (self->pending_compose == NULL)
        self->pending_compose = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (self->pending_compose, g_strdup (mailto != NULL ? mailto : ""));
      return;
    }
  composer = pb_composer_new (self, self->store, mailto);
  gtk_window_present (GTK_WINDOW (composer));
}

static void
pb_application_startup (GApplication *application)
{
  PbApplication *self = PB_APPLICATION (application);
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *close_accels[] = { "<Control>w", NULL };
  static const char *compose_accels[] = { "<Control>n", NULL };

  G_APPLICATION_CLASS (pb_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.compose('')",
                                         compose_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "window.close", close_accels);

  /* The account list is one small key file on the local disk; everything that can be slow
   * (the servers) is asynchronous. */
  self->account_manager = pb_account_manager_new (NULL);
  if (!pb_account_manager_load (self->account_manager, &self->load_error))
    g_warning ("Could not read the account list: %s", self->load_error->message);

  open_store (self);
}

static void
pb_application_dispose (GObject *object)
{
  PbApplication *self = PB_APPLICATION (object);

  g_clear_object (&self->outbox);
  g_clear_object (&self->store);
  g_clear_pointer (&self->pending_compose, g_ptr_array_unref);
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
