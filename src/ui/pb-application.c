/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-application"

#include "config.h"

#include <locale.h>
#include <glib/gi18n.h>

#include "pb-application.h"
#include "pb-composer.h"
#include "pb-sync-monitor.h"
#include "pb-window.h"

struct _PbApplication
{
  AdwApplication    parent_instance;

  PbAccountManager *account_manager;
  /* Why the account list could not be read, shown in the first window. */
  GError           *load_error;

  /* The local mail store, opened on a worker thread at startup, and the background sync of
   * every account into it. */
  PbStore          *store;
  PbSyncMonitor    *sync_monitor;
  /* The outbox every composer queues into, created once the store is open. */
  PbOutbox         *outbox;
  /* mailto: links that arrived before the store was open. */
  GPtrArray        *pending_compose;
  gboolean          store_opening;
  GCancellable     *cancellable;
  GSettings        *settings;
  /* The application holds itself while it runs in the background with no window. */
  gboolean          held;
};

G_DEFINE_FINAL_TYPE (PbApplication, pb_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_STORE,
  PROP_SYNC_MONITOR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

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

/**
 * pb_application_get_store:
 *
 * Returns: (transfer none) (nullable): the mail store, once it is open
 */
PbStore *
pb_application_get_store (PbApplication *self)
{
  g_return_val_if_fail (PB_IS_APPLICATION (self), NULL);

  return self->store;
}

/**
 * pb_application_get_sync_monitor:
 *
 * Returns: (transfer none) (nullable): the background sync of the application's accounts,
 *   once the store is open
 */
PbSyncMonitor *
pb_application_get_sync_monitor (PbApplication *self)
{
  g_return_val_if_fail (PB_IS_APPLICATION (self), NULL);

  return self->sync_monitor;
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

/**
 * pb_application_window_closing:
 *
 * Called by a main window that closes. When the user chose to keep syncing in the background,
 * the application holds itself, so that the last window closing does not end it.
 */
void
pb_application_window_closing (PbApplication *self)
{
  g_return_if_fail (PB_IS_APPLICATION (self));

  if (!self->held && self->settings != NULL
      && g_settings_get_boolean (self->settings, "run-in-background"))
    {
      self->held = TRUE;
      g_application_hold (G_APPLICATION (self));
    }
}

/**
 * pb_bench_mark:
 * @stage: what was reached
 *
 * With POSTBOTE_BENCH set, prints when start-up reached @stage (monotonic µs), for
 * tests/bench/ui-scale's breakdown of the start time.
 */
void
pb_bench_mark (const char *stage)
{
  static gsize checked;
  static gboolean enabled;

  if (g_once_init_enter (&checked))
    {
      enabled = g_getenv ("POSTBOTE_BENCH") != NULL;
      g_once_init_leave (&checked, 1);
    }
  if (enabled)
    g_printerr ("POSTBOTE_BENCH mark %s %" G_GINT64_FORMAT "\n", stage, g_get_monotonic_time ());
}

static void
new_mail_cb (PbApplication          *self,
             const char             *account,
             const PbMessageSummary *summary)
{
  g_autoptr (GNotification) notification = NULL;
  g_autofree char *id = g_strdup_printf ("new-mail-%s", account);
  const char *sender = summary->from_name != NULL && *summary->from_name != '\0'
                       ? summary->from_name : summary->from_addr;

  /* Notification titles and bodies are plain text, never markup. */
  notification = g_notification_new (sender != NULL ? sender : _("New message"));
  g_notification_set_body (notification, summary->subject != NULL ? summary->subject : "");
  g_notification_set_default_action (notification, "app.activate");
  g_application_send_notification (G_APPLICATION (self), id, notification);
}

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
open_store_thread (GTask        *task,
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
open_store_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  PbApplication *self = PB_APPLICATION (source);
  g_autoptr (GError) error = NULL;
  PbStore *store = g_task_propagate_pointer (G_TASK (result), &error);

  g_application_release (G_APPLICATION (self));
  self->store_opening = FALSE;
  if (store == NULL)
    {
      GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

      g_clear_pointer (&self->pending_compose, g_ptr_array_unref);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_warning ("Could not open the mail store: %s", error->message);
      if (PB_IS_WINDOW (window))
        pb_window_show_error (PB_WINDOW (window), error->message);
      return;
    }

  self->store = store;

  pb_bench_mark ("store-open");
  self->sync_monitor = pb_sync_monitor_new (self->account_manager, store);
  g_signal_connect_object (self->sync_monitor, "new-mail", G_CALLBACK (new_mail_cb), self,
                           G_CONNECT_SWAPPED);
  self->outbox = pb_outbox_new (NULL, self->account_manager, self->store);
  pb_outbox_load_async (self->outbox, NULL, outbox_loaded_cb, g_object_ref (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SYNC_MONITOR]);

  if (self->pending_compose != NULL)
    {
      g_autoptr(GPtrArray) pending = g_steal_pointer (&self->pending_compose);

      for (guint i = 0; i < pending->len; i++)
        pb_application_compose (self, g_ptr_array_index (pending, i));
    }

  {
    g_autoptr(GPtrArray) drafts = g_object_steal_data (G_OBJECT (store), "pb-leftover-drafts");

    /* Nothing is lost: what was being written when the program stopped opens again. */
    for (guint i = 0; drafts != NULL && i < drafts->len; i++)
      gtk_window_present (GTK_WINDOW (pb_composer_new_for_draft (self, store,
                                                                 g_ptr_array_index (drafts, i))));
  }
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

  pb_bench_mark ("activate");
  gtk_window_present (GTK_WINDOW (pb_application_ensure_window (self)));
  pb_bench_mark ("presented");
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

  /* Quitting is quitting, also when the app would otherwise stay in the background. */
  if (self->held)
    {
      self->held = FALSE;
      g_application_release (G_APPLICATION (self));
    }
  g_clear_object (&self->settings);

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
pb_application_activate_action (GSimpleAction *action,
                                GVariant      *parameter,
                                gpointer       user_data)
{
  g_application_activate (G_APPLICATION (user_data));
}

static void
pb_application_compose_action (GSimpleAction *action,
                               GVariant      *parameter,
                               gpointer       user_data)
{
  pb_application_compose (PB_APPLICATION (user_data), g_variant_get_string (parameter, NULL));
}

static const GActionEntry app_actions[] = {
  { .name = "activate", .activate = pb_application_activate_action },
  { .name = "compose", .activate = pb_application_compose_action, .parameter_type = "s" },
  { .name = "quit", .activate = pb_application_quit_action },
  { .name = "about", .activate = pb_application_about_action },
};

static void
pb_application_startup (GApplication *application)
{
  PbApplication *self = PB_APPLICATION (application);
  static const char *quit_accels[] = { "<Control>q", NULL };
  pb_bench_mark ("startup");
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

  {
    GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
    g_autoptr (GSettingsSchema) schema = source != NULL
                                         ? g_settings_schema_source_lookup (source, APP_ID, TRUE)
                                         : NULL;

    if (schema != NULL)
      self->settings = g_settings_new_full (schema, NULL, NULL);
  }

  /* Opening the store reads the disk (and repairs it after a crash): not on this thread. */
  {
    g_autoptr (GTask) task = NULL;

    /* Held meanwhile, so that a composer asked for by a mailto: link at start-up finds it. */
    g_application_hold (G_APPLICATION (self));
    self->store_opening = TRUE;
    self->cancellable = g_cancellable_new ();
    task = g_task_new (self, self->cancellable, open_store_cb, NULL);
    g_task_set_source_tag (task, pb_application_startup);
    g_task_run_in_thread (task, open_store_thread);
  }
}

static void
pb_application_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  PbApplication *self = PB_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;

    case PROP_SYNC_MONITOR:
      g_value_set_object (value, self->sync_monitor);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Closes the store before the process ends, so that it writes its "closed cleanly" marker
 * (see pb-store.c): otherwise the next start checks and repairs the whole store (about a
 * second for 100,000 messages). The windows and the sync hold references, and so do tasks on
 * worker threads until their callbacks have run; those are cancelled and given a few seconds.
 * A store still in use after that is left for the next start to check, which is safe. */
static void
pb_application_shutdown (GApplication *application)
{
  PbApplication *self = PB_APPLICATION (application);
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));

  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_destroy (l->data);
  g_list_free (windows);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->sync_monitor);
  g_clear_object (&self->outbox);
  if (self->store != NULL)
    {
      GWeakRef ref;
      gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
      guint wake = g_timeout_add (20, wake_cb, NULL);
      PbStore *store;

      g_weak_ref_init (&ref, self->store);
      g_clear_object (&self->store);
      while ((store = g_weak_ref_get (&ref)) != NULL && g_get_monotonic_time () < deadline)
        {
          g_object_unref (store);
          g_main_context_iteration (NULL, TRUE);
        }
      if (store != NULL)
        {
          g_warning ("The mail store is still in use at exit; the next start will check it");
          g_object_unref (store);
        }
      g_weak_ref_clear (&ref);
      g_source_remove (wake);
    }

  G_APPLICATION_CLASS (pb_application_parent_class)->shutdown (application);
}

static void
pb_application_dispose (GObject *object)
{
  PbApplication *self = PB_APPLICATION (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->sync_monitor);
  g_clear_object (&self->outbox);
  g_clear_pointer (&self->pending_compose, g_ptr_array_unref);
  g_clear_object (&self->store);
  g_clear_object (&self->settings);
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
  object_class->get_property = pb_application_get_property;

  /* PbApplication:store: the mail store, %NULL until it is open. */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, PB_TYPE_STORE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* PbApplication:sync-monitor: the background sync, %NULL until the store is open. */
  properties[PROP_SYNC_MONITOR] =
    g_param_spec_object ("sync-monitor", NULL, NULL, PB_TYPE_SYNC_MONITOR,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  app_class->startup = pb_application_startup;
  app_class->activate = pb_application_activate;
  app_class->shutdown = pb_application_shutdown;
  app_class->open = pb_application_open;
}

static void
pb_application_init (PbApplication *self)
{
}
