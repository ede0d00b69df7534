/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-accounts"

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pb-account-manager.h"

#define GROUP_PREFIX "Account "

struct _PbAccountManager
{
  GObject    parent_instance;

  char      *config_dir;
  char      *path;
  GPtrArray *accounts;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PbAccountManager, pb_account_manager, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

G_DEFINE_QUARK (pb-account-error-quark, pb_account_error)

static GType
get_item_type (GListModel *model)
{
  return PB_TYPE_ACCOUNT;
}

static guint
get_n_items (GListModel *model)
{
  return PB_ACCOUNT_MANAGER (model)->accounts->len;
}

static gpointer
get_item (GListModel *model,
          guint       position)
{
  PbAccountManager *self = PB_ACCOUNT_MANAGER (model);

  if (position >= self->accounts->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->accounts, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static void
pb_account_manager_finalize (GObject *object)
{
  PbAccountManager *self = PB_ACCOUNT_MANAGER (object);

  g_free (self->config_dir);
  g_free (self->path);
  g_ptr_array_unref (self->accounts);

  G_OBJECT_CLASS (pb_account_manager_parent_class)->finalize (object);
}

static void
pb_account_manager_class_init (PbAccountManagerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pb_account_manager_finalize;
}

static void
pb_account_manager_init (PbAccountManager *self)
{
  self->accounts = g_ptr_array_new_with_free_func (g_object_unref);
}

char *
pb_default_config_dir (void)
{
  return g_build_filename (g_get_user_config_dir (), "postbote", NULL);
}

char *
pb_default_data_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "postbote", NULL);
}

/**
 * pb_account_manager_new:
 * @config_dir: (nullable): the folder of accounts.ini, or %NULL for
 *   `$XDG_CONFIG_HOME/postbote`
 */
PbAccountManager *
pb_account_manager_new (const char *config_dir)
{
  PbAccountManager *self = g_object_new (PB_TYPE_ACCOUNT_MANAGER, NULL);

  self->config_dir = config_dir ? g_strdup (config_dir) : pb_default_config_dir ();
  self->path = g_build_filename (self->config_dir, "accounts.ini", NULL);
  return self;
}

const char *
pb_account_manager_get_path (PbAccountManager *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT_MANAGER (self), NULL);
  return self->path;
}

static PbService *
load_service (GKeyFile    *file,
              const char  *group,
              const char  *prefix,
              gboolean     required,
              GError     **error)
{
  g_autofree char *url = NULL;
  g_autofree char *ca_key = g_strconcat (prefix, "-ca-file", NULL);
  g_autofree char *pin_key = g_strconcat (prefix, "-pinned-sha256", NULL);
  g_autofree char *ca_file = NULL;
  g_autofree char *pin = NULL;
  PbService *service;

  url = g_key_file_get_string (file, group, prefix, NULL);
  if (url == NULL)
    {
      if (required)
        g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                     _("[%s] has no “%s” server"), group, prefix);
      return NULL;
    }

  service = pb_service_new_from_url (url, error);
  if (service == NULL)
    return NULL;

  ca_file = g_key_file_get_string (file, group, ca_key, NULL);
  pin = g_key_file_get_string (file, group, pin_key, NULL);
  pb_service_set_ca_file (service, ca_file);
  pb_service_set_pinned_sha256 (service, pin);
  return service;
}

static void
save_service (GKeyFile   *file,
              const char *group,
              const char *prefix,
              PbService  *service)
{
  g_autofree char *url = NULL;
  g_autofree char *ca_key = g_strconcat (prefix, "-ca-file", NULL);
  g_autofree char *pin_key = g_strconcat (prefix, "-pinned-sha256", NULL);

  if (service == NULL)
    return;
  url = pb_service_to_url (service);
  g_key_file_set_string (file, group, prefix, url);
  if (pb_service_get_ca_file (service))
    g_key_file_set_string (file, group, ca_key, pb_service_get_ca_file (service));
  if (pb_service_get_pinned_sha256 (service))
    g_key_file_set_string (file, group, pin_key, pb_service_get_pinned_sha256 (service));
}

static PbAccount *
load_account (GKeyFile    *file,
              const char  *group,
              GError     **error)
{
  const char *name = group + strlen (GROUP_PREFIX);
  g_autofree char *email = NULL;
  g_autofree char *display_name = NULL;
  g_autofree char *command = NULL;
  g_autoptr(PbService) incoming = NULL;
  g_autoptr(PbService) outgoing = NULL;
  g_autoptr(GError) local_error = NULL;
  PbAccount *account;

  if (!pb_account_name_is_valid (name))
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                   _("[%s]: “%s” is not a valid account name"), group, name);
      return NULL;
    }

  email = g_key_file_get_string (file, group, "email", NULL);
  if (email == NULL || *email == '\0')
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                   _("[%s] has no email address"), group);
      return NULL;
    }

  incoming = load_service (file, group, "incoming", TRUE, error);
  if (incoming == NULL)
    return NULL;
  if (!pb_service_is_incoming (incoming))
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                   _("[%s]: the incoming server must be IMAP or POP3"), group);
      return NULL;
    }

  outgoing = load_service (file, group, "outgoing", FALSE, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (outgoing != NULL && pb_service_get_protocol (outgoing) != PB_PROTOCOL_SMTP)
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                   _("[%s]: the outgoing server must be SMTP"), group);
      return NULL;
    }

  account = pb_account_new (name, email, incoming, outgoing);
  display_name = g_key_file_get_string (file, group, "display-name", NULL);
  pb_account_set_display_name (account, display_name);
  command = g_key_file_get_string (file, group, "password-command", NULL);
  pb_account_set_password_command (account, command);
  if (g_key_file_has_key (file, group, "offline-days", NULL))
    {
      gint days = g_key_file_get_integer (file, group, "offline-days", NULL);
      pb_account_set_offline_days (account, CLAMP (days, 0, 36500));
    }
  /* The password command prints an OAuth 2 access token instead of a password. */
  {
    g_autofree char *auth = g_key_file_get_string (file, group, "outgoing-auth", NULL);

    if (auth != NULL && g_strcmp0 (auth, "oauth") != 0 && g_strcmp0 (auth, "password") != 0)
      {
        g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                     _("[%s]: outgoing-auth must be “password” or “oauth”"), group);
        g_object_unref (account);
        return NULL;
      }
    pb_account_set_outgoing_oauth (account, g_strcmp0 (auth, "oauth") == 0);
  }
  pb_account_load_pop3_policy (account, file, group);
  return account;
}

/**
 * pb_account_manager_load:
 *
 * Reads accounts.ini. A missing file means no accounts. A file with an invalid entry fails as a
 * whole, naming the entry, rather than silently dropping an account the user expects to see.
 */
gboolean
pb_account_manager_load (PbAccountManager  *self,
                         GError           **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GPtrArray) accounts = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) groups = NULL;
  guint old_len;

  g_return_val_if_fail (PB_IS_ACCOUNT_MANAGER (self), FALSE);

  if (!g_key_file_load_from_file (file, self->path, G_KEY_FILE_NONE, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID,
                       _("Could not read %s: %s"), self->path, local_error->message);
          return FALSE;
        }
    }

  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      PbAccount *account;

      if (!g_str_has_prefix (groups[i], GROUP_PREFIX))
        continue;
      account = load_account (file, groups[i], &local_error);
      if (account == NULL)
        {
          g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_INVALID, "%s: %s", self->path,
                       local_error->message);
          return FALSE;
        }
      g_ptr_array_add (accounts, account);
    }

  old_len = self->accounts->len;
  g_ptr_array_unref (self->accounts);
  self->accounts = g_steal_pointer (&accounts);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, old_len, self->accounts->len);
  return TRUE;
}

static gboolean
save (PbAccountManager  *self,
      GPtrArray         *accounts,
      GError           **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *data = NULL;
  gsize length;

  for (guint i = 0; i < accounts->len; i++)
    {
      PbAccount *account = g_ptr_array_index (accounts, i);
      g_autofree char *group = g_strconcat (GROUP_PREFIX, pb_account_get_name (account), NULL);

      g_key_file_set_string (file, group, "email", pb_account_get_email (account));
      if (pb_account_get_display_name (account))
        g_key_file_set_string (file, group, "display-name",
                               pb_account_get_display_name (account));
      save_service (file, group, "incoming", pb_account_get_incoming (account));
      save_service (file, group, "outgoing", pb_account_get_outgoing (account));
      if (pb_account_get_password_command (account))
        g_key_file_set_string (file, group, "password-command",
                               pb_account_get_password_command (account));
      if (pb_account_get_offline_days (account) > 0)
        g_key_file_set_integer (file, group, "offline-days",
                                pb_account_get_offline_days (account));
      if (pb_account_get_outgoing_oauth (account))
        g_key_file_set_string (file, group, "outgoing-auth", "oauth");
      pb_account_save_pop3_policy (account, file, group);
    }

  data = g_key_file_to_data (file, &length, NULL);
  if (g_mkdir_with_parents (self->config_dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_FAILED,
                   _("Could not create %s: %s"), self->config_dir, g_strerror (saved_errno));
      return FALSE;
    }
  /* Written to a temporary file, fsynced and renamed: a crash leaves the old or the new file,
   * never a truncated one. 0600 because the password command may name private paths. */
  if (!g_file_set_contents_full (self->path, data, length, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &local_error))
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_FAILED,
                   _("Could not save the accounts: %s"), local_error->message);
      return FALSE;
    }
  return TRUE;
}

PbAccount *
pb_account_manager_lookup (PbAccountManager *self,
                           const char       *name)
{
  g_return_val_if_fail (PB_IS_ACCOUNT_MANAGER (self), NULL);

  for (guint i = 0; i < self->accounts->len; i++)
    {
      PbAccount *account = g_ptr_array_index (self->accounts, i);
      if (g_strcmp0 (pb_account_get_name (account), name) == 0)
        return account;
    }
  return NULL;
}

gboolean
pb_account_manager_add (PbAccountManager  *self,
                        PbAccount         *account,
                        GError           **error)
{
  g_autoptr(GPtrArray) accounts = NULL;

  g_return_val_if_fail (PB_IS_ACCOUNT_MANAGER (self), FALSE);
  g_return_val_if_fail (PB_IS_ACCOUNT (account), FALSE);

  if (pb_account_manager_lookup (self, pb_account_get_name (account)) != NULL)
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_EXISTS,
                   _("An account named “%s” exists already"), pb_account_get_name (account));
      return FALSE;
    }

  /* Save first: the list changes only once the file on disk says so. */
  accounts = g_ptr_array_copy (self->accounts, (GCopyFunc) (void (*) (void)) g_object_ref, NULL);
  g_ptr_array_set_free_func (accounts, g_object_unref);
  g_ptr_array_add (accounts, g_object_ref (account));
  if (!save (self, accounts, error))
    return FALSE;

  g_ptr_array_add (self->accounts, g_object_ref (account));
  g_list_model_items_changed (G_LIST_MODEL (self), self->accounts->len - 1, 0, 1);
  return TRUE;
}

gboolean
pb_account_manager_remove (PbAccountManager  *self,
                           const char        *name,
                           GError           **error)
{
  g_autoptr(GPtrArray) accounts = NULL;
  guint position;

  g_return_val_if_fail (PB_IS_ACCOUNT_MANAGER (self), FALSE);

  for (position = 0; position < self->accounts->len; position++)
    if (g_strcmp0 (pb_account_get_name (g_ptr_array_index (self->accounts, position)), name) == 0)
      break;
  if (position == self->accounts->len)
    {
      g_set_error (error, PB_ACCOUNT_ERROR, PB_ACCOUNT_ERROR_NOT_FOUND,
                   _("There is no account named “%s”"), name);
      return FALSE;
    }

  accounts = g_ptr_array_copy (self->accounts, (GCopyFunc) (void (*) (void)) g_object_ref, NULL);
  g_ptr_array_set_free_func (accounts, g_object_unref);
  g_ptr_array_remove_index (accounts, position);
  if (!save (self, accounts, error))
    return FALSE;

  g_ptr_array_remove_index (self->accounts, position);
  g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
  return TRUE;
}
