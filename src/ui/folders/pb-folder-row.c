/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-folder-row"

#include "config.h"

#include <glib/gi18n.h>

#include "pb-folder-row.h"

/* How far each level of nesting moves a folder to the right: an icon plus the gap after it,
 * so a subfolder's icon lines up with its parent's name. */
#define INDENT_PER_LEVEL 28

struct _PbFolderRow
{
  GtkListBoxRow  parent_instance;

  PbAccount     *account;
  PbFolderInfo  *folder;
  gint64         folder_id;
  guint          unread;

  /* Template children */
  GtkWidget     *box;
  GtkImage      *icon;
  GtkLabel      *title_label;
  GtkLabel      *unread_label;
};

G_DEFINE_FINAL_TYPE (PbFolderRow, pb_folder_row, GTK_TYPE_LIST_BOX_ROW)

enum {
  PROP_0,
  PROP_ACCOUNT,
  PROP_FOLDER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/**
 * pb_folder_row_get_icon_name_for_role:
 * @role: a #PbFolderRole
 *
 * Returns: the symbolic icon shown for folders with @role
 */
const char *
pb_folder_row_get_icon_name_for_role (PbFolderRole role)
{
  /* Adwaita has no inbox or archive icon; those two are bundled (src/ui/icons). */
  switch (role)
    {
    case PB_FOLDER_ROLE_INBOX:
      return "pb-inbox-symbolic";
    case PB_FOLDER_ROLE_DRAFTS:
      return "document-edit-symbolic";
    case PB_FOLDER_ROLE_SENT:
      return "mail-send-symbolic";
    case PB_FOLDER_ROLE_ARCHIVE:
      return "pb-archive-symbolic";
    case PB_FOLDER_ROLE_ALL:
      return "mail-read-symbolic";
    case PB_FOLDER_ROLE_FLAGGED:
      return "starred-symbolic";
    case PB_FOLDER_ROLE_JUNK:
      return "mail-mark-junk-symbolic";
    case PB_FOLDER_ROLE_TRASH:
      return "user-trash-symbolic";
    case PB_FOLDER_ROLE_NONE:
    default:
      return "folder-symbolic";
    }
}

/**
 * pb_folder_row_dup_display_name:
 * @folder: a #PbFolderInfo
 *
 * Special folders are shown under the same translated names on every server, whatever they
 * are called there ("INBOX", "Sent Items", "[Gmail]/Spam"); other folders by the last
 * component of their path.
 *
 * Returns: (transfer full): the name to show for @folder
 */
char *
pb_folder_row_dup_display_name (PbFolderInfo *folder)
{
  g_return_val_if_fail (PB_IS_FOLDER_INFO (folder), NULL);

  switch (pb_folder_info_get_role (folder))
    {
    case PB_FOLDER_ROLE_INBOX:
      return g_strdup (_("Inbox"));
    case PB_FOLDER_ROLE_DRAFTS:
      return g_strdup (_("Drafts"));
    case PB_FOLDER_ROLE_SENT:
      return g_strdup (_("Sent"));
    case PB_FOLDER_ROLE_ARCHIVE:
      return g_strdup (_("Archive"));
    case PB_FOLDER_ROLE_ALL:
      return g_strdup (_("All Mail"));
    case PB_FOLDER_ROLE_FLAGGED:
      return g_strdup (_("Flagged"));
    case PB_FOLDER_ROLE_JUNK:
      return g_strdup (_("Junk"));
    case PB_FOLDER_ROLE_TRASH:
      return g_strdup (_("Trash"));
    case PB_FOLDER_ROLE_NONE:
    default:
      return g_strdup (pb_folder_info_get_name (folder));
    }
}

/**
 * pb_folder_row_new:
 * @account: (nullable): the account, or %NULL for the unified inbox
 * @folder: the folder
 */
GtkWidget *
pb_folder_row_new (PbAccount    *account,
                   PbFolderInfo *folder)
{
  g_return_val_if_fail (account == NULL || PB_IS_ACCOUNT (account), NULL);
  g_return_val_if_fail (PB_IS_FOLDER_INFO (folder), NULL);

  return g_object_new (PB_TYPE_FOLDER_ROW,
                       "account", account,
                       "folder", folder,
                       NULL);
}

/**
 * pb_folder_row_get_account:
 * @self: a #PbFolderRow
 *
 * Returns: (transfer none): the account the folder belongs to
 */
PbAccount *
pb_folder_row_get_account (PbFolderRow *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_ROW (self), NULL);

  return self->account;
}

/**
 * pb_folder_row_get_folder:
 * @self: a #PbFolderRow
 *
 * Returns: (transfer none): the folder this row shows
 */
PbFolderInfo *
pb_folder_row_get_folder (PbFolderRow *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_ROW (self), NULL);

  return self->folder;
}

/* The store's id of the folder, 0 while it is not in the store (PB_STORE_FOLDER_INBOXES for
 * the unified inbox). */
gint64
pb_folder_row_get_folder_id (PbFolderRow *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_ROW (self), 0);
  return self->account == NULL ? PB_STORE_FOLDER_INBOXES : self->folder_id;
}

void
pb_folder_row_set_folder_id (PbFolderRow *self,
                             gint64       folder_id)
{
  g_return_if_fail (PB_IS_FOLDER_ROW (self));
  self->folder_id = folder_id;
}

guint
pb_folder_row_get_unread (PbFolderRow *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_ROW (self), 0);
  return self->unread;
}

/* Shows @unread beside the name; 0 shows nothing. */
void
pb_folder_row_set_unread (PbFolderRow *self,
                          guint        unread)
{
  g_autofree char *text = NULL;

  g_return_if_fail (PB_IS_FOLDER_ROW (self));

  self->unread = unread;
  text = g_strdup_printf ("%u", unread);
  gtk_label_set_text (self->unread_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->unread_label), unread > 0);
}

/**
 * pb_folder_row_get_title:
 * @self: a #PbFolderRow
 *
 * Returns: the name shown in the row
 */
const char *
pb_folder_row_get_title (PbFolderRow *self)
{
  g_return_val_if_fail (PB_IS_FOLDER_ROW (self), NULL);

  return gtk_label_get_text (self->title_label);
}

static void
pb_folder_row_constructed (GObject *object)
{
  PbFolderRow *self = PB_FOLDER_ROW (object);
  g_autofree char *name = NULL;
  gboolean selectable;

  G_OBJECT_CLASS (pb_folder_row_parent_class)->constructed (object);

  g_assert (self->folder != NULL);

  if (self->account == NULL)
    {
      name = g_strdup (_("Unified Inbox"));
      gtk_widget_set_name (GTK_WIDGET (self), "unified-inbox-row");
    }
  else
    name = pb_folder_row_dup_display_name (self->folder);
  gtk_label_set_text (self->title_label, name);
  gtk_image_set_from_icon_name (self->icon,
                                pb_folder_row_get_icon_name_for_role (
                                  pb_folder_info_get_role (self->folder)));
  gtk_widget_set_margin_start (self->box,
                               INDENT_PER_LEVEL * (int) pb_folder_info_get_depth (self->folder));
  /* The path tells apart folders whose names are shown alike, e.g. two "2024" subfolders. */
  if (self->account != NULL)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self), pb_folder_info_get_path (self->folder));

  /* A folder that only holds other folders (\Noselect) is shown, but cannot be opened. */
  selectable = pb_folder_info_get_selectable (self->folder);
  gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (self), selectable);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (self), selectable);
  if (!selectable)
    gtk_widget_add_css_class (GTK_WIDGET (self->title_label), "dim-label");
}

static void
pb_folder_row_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  PbFolderRow *self = PB_FOLDER_ROW (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT:
      g_value_set_object (value, self->account);
      break;

    case PROP_FOLDER:
      g_value_set_object (value, self->folder);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_folder_row_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  PbFolderRow *self = PB_FOLDER_ROW (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT:
      self->account = g_value_dup_object (value);
      break;

    case PROP_FOLDER:
      self->folder = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_folder_row_dispose (GObject *object)
{
  PbFolderRow *self = PB_FOLDER_ROW (object);

  /* No gtk_widget_dispose_template(): GtkListBoxRow disposes its child itself, and would
   * unparent it a second time. */
  g_clear_object (&self->account);
  g_clear_object (&self->folder);

  G_OBJECT_CLASS (pb_folder_row_parent_class)->dispose (object);
}

static void
pb_folder_row_class_init (PbFolderRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = pb_folder_row_constructed;
  object_class->get_property = pb_folder_row_get_property;
  object_class->set_property = pb_folder_row_set_property;
  object_class->dispose = pb_folder_row_dispose;

  /**
   * PbFolderRow:account:
   *
   * The account the folder belongs to.
   */
  properties[PROP_ACCOUNT] =
    g_param_spec_object ("account", NULL, NULL,
                         PB_TYPE_ACCOUNT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PbFolderRow:folder:
   *
   * The folder this row shows.
   */
  properties[PROP_FOLDER] =
    g_param_spec_object ("folder", NULL, NULL,
                         PB_TYPE_FOLDER_INFO,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/postbote/Postbote/folders/pb-folder-row.ui");
  gtk_widget_class_bind_template_child (widget_class, PbFolderRow, box);
  gtk_widget_class_bind_template_child (widget_class, PbFolderRow, icon);
  gtk_widget_class_bind_template_child (widget_class, PbFolderRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, PbFolderRow, unread_label);
}

static void
pb_folder_row_init (PbFolderRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
