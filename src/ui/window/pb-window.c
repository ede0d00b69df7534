/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-window"

#include "config.h"

#include <glib/gi18n.h>

#include "pb-folder-list.h"
#include "pb-folder-row.h"
#include "pb-window.h"

struct _PbWindow
{
  AdwApplicationWindow  parent_instance;

  PbAccountManager     *account_manager;
  GSettings            *settings;

  /* Template children */
  AdwToastOverlay      *toast_overlay;
  GtkStack             *main_stack;
  AdwLeaflet           *leaflet;
  GtkWidget            *content_pane;
  PbFolderList         *folder_list;
  AdwWindowTitle       *content_title;
  GtkStack             *content_stack;
  AdwStatusPage        *folder_page;
};

G_DEFINE_FINAL_TYPE (PbWindow, pb_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_ACCOUNT_MANAGER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

PbWindow *
pb_window_new (GtkApplication   *application,
               PbAccountManager *account_manager)
{
  g_return_val_if_fail (GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (PB_IS_ACCOUNT_MANAGER (account_manager), NULL);

  return g_object_new (PB_TYPE_WINDOW,
                       "application", application,
                       "account-manager", account_manager,
                       NULL);
}

/**
 * pb_window_get_account_manager:
 * @self: a #PbWindow
 *
 * Returns: (transfer none): the accounts this window shows
 */
PbAccountManager *
pb_window_get_account_manager (PbWindow *self)
{
  g_return_val_if_fail (PB_IS_WINDOW (self), NULL);

  return self->account_manager;
}

/**
 * pb_window_show_error:
 * @self: a #PbWindow
 * @message: plain text (never markup)
 *
 * Shows a message that does not belong to one account, such as an unreadable account list.
 */
void
pb_window_show_error (PbWindow   *self,
                      const char *message)
{
  g_autofree char *escaped = NULL;
  AdwToast *toast;

  g_return_if_fail (PB_IS_WINDOW (self));
  g_return_if_fail (message != NULL);

  /* Toast titles are Pango markup in libadwaita 1.2. */
  escaped = g_markup_escape_text (message, -1);
  toast = adw_toast_new (escaped);
  adw_toast_set_timeout (toast, 0);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
pb_window_update_accounts_page (PbWindow *self)
{
  gboolean have_accounts = g_list_model_get_n_items (G_LIST_MODEL (self->account_manager)) > 0;

  gtk_stack_set_visible_child_name (self->main_stack, have_accounts ? "accounts" : "no-accounts");
}

static void
accounts_changed_cb (PbWindow   *self,
                     guint       position,
                     guint       removed,
                     guint       added,
                     GListModel *model)
{
  pb_window_update_accounts_page (self);
}

static void
folder_selected_cb (PbWindow     *self,
                    PbAccount    *account,
                    PbFolderInfo *folder,
                    PbFolderList *folder_list)
{
  if (folder == NULL)
    {
      adw_window_title_set_title (self->content_title, "");
      adw_window_title_set_subtitle (self->content_title, "");
      gtk_stack_set_visible_child_name (self->content_stack, "no-folder");
      return;
    }

  g_autofree char *name = pb_folder_row_dup_display_name (folder);
  const char *email = pb_account_get_email (account);

  adw_window_title_set_title (self->content_title, name);
  adw_window_title_set_subtitle (self->content_title, email != NULL ? email : "");

  g_autofree char *description = g_markup_escape_text (pb_account_get_name (account), -1);

  /* AdwStatusPage shows its title as plain text but its description as markup. */
  adw_status_page_set_icon_name (self->folder_page,
                                 pb_folder_row_get_icon_name_for_role (
                                   pb_folder_info_get_role (folder)));
  adw_status_page_set_title (self->folder_page, name);
  adw_status_page_set_description (self->folder_page, description);
  gtk_stack_set_visible_child_name (self->content_stack, "folder");

  adw_leaflet_set_visible_child (self->leaflet, self->content_pane);
}

static void
back_clicked_cb (PbWindow  *self,
                 GtkButton *button)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static GSettings *
pb_window_create_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;

  /* Without the schema (a run from the build tree without GSETTINGS_SCHEMA_DIR) the window
   * still works; it just does not remember its size. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema == NULL)
    {
      g_warning ("GSettings schema %s is not installed; the window size will not be saved",
                 APP_ID);
      return NULL;
    }

  return g_settings_new_full (schema, NULL, NULL);
}

static void
pb_window_restore_state (PbWindow *self)
{
  int width, height;

  if (self->settings == NULL)
    return;

  width = g_settings_get_int (self->settings, "window-width");
  height = g_settings_get_int (self->settings, "window-height");
  gtk_window_set_default_size (GTK_WINDOW (self), width, height);
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
}

static void
pb_window_save_state (PbWindow *self)
{
  int width, height;

  if (self->settings == NULL)
    return;

  /* The default size is the unmaximized size, which is what the next start should restore. */
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_delay (self->settings);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized",
                          gtk_window_is_maximized (GTK_WINDOW (self)));
  g_settings_apply (self->settings);
}

static gboolean
pb_window_close_request (GtkWindow *window)
{
  GtkWindowClass *parent_class = GTK_WINDOW_CLASS (pb_window_parent_class);

  pb_window_save_state (PB_WINDOW (window));

  return parent_class->close_request != NULL ? parent_class->close_request (window) : FALSE;
}

static void
pb_window_constructed (GObject *object)
{
  PbWindow *self = PB_WINDOW (object);

  G_OBJECT_CLASS (pb_window_parent_class)->constructed (object);

  g_assert (self->account_manager != NULL);

  self->settings = pb_window_create_settings ();
  pb_window_restore_state (self);

  g_signal_connect_object (self->account_manager, "items-changed",
                           G_CALLBACK (accounts_changed_cb), self, G_CONNECT_SWAPPED);
  pb_folder_list_set_account_manager (self->folder_list, self->account_manager);
  pb_window_update_accounts_page (self);
}

static void
pb_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  PbWindow *self = PB_WINDOW (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT_MANAGER:
      g_value_set_object (value, self->account_manager);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  PbWindow *self = PB_WINDOW (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT_MANAGER:
      self->account_manager = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_window_dispose (GObject *object)
{
  PbWindow *self = PB_WINDOW (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->account_manager);

  G_OBJECT_CLASS (pb_window_parent_class)->dispose (object);
}

static void
pb_window_class_init (PbWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = pb_window_constructed;
  object_class->get_property = pb_window_get_property;
  object_class->set_property = pb_window_set_property;
  object_class->dispose = pb_window_dispose;

  window_class->close_request = pb_window_close_request;

  /**
   * PbWindow:account-manager:
   *
   * The accounts whose folders the sidebar shows.
   */
  properties[PROP_ACCOUNT_MANAGER] =
    g_param_spec_object ("account-manager", NULL, NULL,
                         PB_TYPE_ACCOUNT_MANAGER,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (PB_TYPE_FOLDER_LIST);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/postbote/Postbote/window/pb-window.ui");
  gtk_widget_class_bind_template_child (widget_class, PbWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, content_pane);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, folder_list);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, content_title);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, PbWindow, folder_page);
  gtk_widget_class_bind_template_callback (widget_class, folder_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, back_clicked_cb);
}

static void
pb_window_init (PbWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
