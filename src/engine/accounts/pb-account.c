/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-accounts"

#include "config.h"

#include "pb-account.h"
#include "pb-command-credentials.h"
#include "pb-imap-store.h"
#include "pb-pop3-store.h"
#include "pb-secret-credentials.h"
#include "pb-smtp-transport.h"
#include "pb-util-private.h"

struct _PbAccount
{
  GObject        parent_instance;

  char          *name;
  char          *email;
  char          *display_name;
  PbService     *incoming;
  PbService     *outgoing;
  char          *password_command;
  guint          offline_days;
  PbPop3Policy   pop3_policy;

  PbCredentials *credentials;
  PbRemoteStore *remote_store;
  PbTransport   *transport;
  gboolean       outgoing_oauth;
};

G_DEFINE_FINAL_TYPE (PbAccount, pb_account, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_EMAIL,
  PROP_DISPLAY_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
pb_account_dispose (GObject *object)
{
  PbAccount *self = PB_ACCOUNT (object);

  g_clear_object (&self->incoming);
  g_clear_object (&self->outgoing);
  g_clear_object (&self->credentials);
  g_clear_object (&self->remote_store);
  g_clear_object (&self->transport);

  G_OBJECT_CLASS (pb_account_parent_class)->dispose (object);
}

static void
pb_account_finalize (GObject *object)
{
  PbAccount *self = PB_ACCOUNT (object);

  g_free (self->name);
  g_free (self->email);
  g_free (self->display_name);
  g_free (self->password_command);

  G_OBJECT_CLASS (pb_account_parent_class)->finalize (object);
}

static void
pb_account_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PbAccount *self = PB_ACCOUNT (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_EMAIL:
      g_value_set_string (value, self->email);
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, pb_account_get_display_name (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_account_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  PbAccount *self = PB_ACCOUNT (object);

  switch (prop_id)
    {
    case PROP_DISPLAY_NAME:
      pb_account_set_display_name (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pb_account_class_init (PbAccountClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pb_account_dispose;
  object_class->finalize = pb_account_finalize;
  object_class->get_property = pb_account_get_property;
  object_class->set_property = pb_account_set_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_EMAIL] =
    g_param_spec_string ("email", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DISPLAY_NAME] =
    g_param_spec_string ("display-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pb_account_init (PbAccount *self)
{
  self->pop3_policy.leave_on_server = TRUE;
}

/**
 * pb_account_new:
 * @name: a short, unique name chosen by the user (see pb_account_name_is_valid())
 * @email: the address of the identity
 * @incoming: the IMAP or POP3 service
 * @outgoing: (nullable): the SMTP service
 */
PbAccount *
pb_account_new (const char *name,
                const char *email,
                PbService  *incoming,
                PbService  *outgoing)
{
  PbAccount *self;

  g_return_val_if_fail (pb_account_name_is_valid (name), NULL);
  g_return_val_if_fail (email != NULL, NULL);
  g_return_val_if_fail (PB_IS_SERVICE (incoming), NULL);
  g_return_val_if_fail (outgoing == NULL || PB_IS_SERVICE (outgoing), NULL);

  self = g_object_new (PB_TYPE_ACCOUNT, NULL);
  self->name = g_strdup (name);
  self->email = g_strdup (email);
  self->incoming = g_object_ref (incoming);
  self->outgoing = outgoing ? g_object_ref (outgoing) : NULL;
  return self;
}

const char *
pb_account_get_name (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), NULL);
  return self->name;
}

const char *
pb_account_get_email (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), NULL);
  return self->email;
}

const char *
pb_account_get_display_name (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), NULL);
  return self->display_name;
}

void
pb_account_set_display_name (PbAccount  *self,
                             const char *display_name)
{
  g_return_if_fail (PB_IS_ACCOUNT (self));
  if (pb_set_str (&self->display_name, display_name && *display_name ? display_name : NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISPLAY_NAME]);
}

PbService *
pb_account_get_incoming (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), NULL);
  return self->incoming;
}

PbService *
pb_account_get_outgoing (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), NULL);
  return self->outgoing;
}

const char *
pb_account_get_password_command (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), NULL);
  return self->password_command;
}

void
pb_account_set_password_command (PbAccount  *self,
                                 const char *command)
{
  g_return_if_fail (PB_IS_ACCOUNT (self));
  if (pb_set_str (&self->password_command, command && *command ? command : NULL))
    {
      g_clear_object (&self->credentials);
      g_clear_object (&self->transport);
    }
}

/**
 * pb_account_get_offline_days:
 *
 * Returns: how many days of mail keep their bodies offline; 0 means all (the default)
 */
guint
pb_account_get_offline_days (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), 0);
  return self->offline_days;
}

void
pb_account_set_offline_days (PbAccount *self,
                             guint      days)
{
  g_return_if_fail (PB_IS_ACCOUNT (self));
  self->offline_days = days;
  if (self->remote_store != NULL && PB_IS_IMAP_STORE (self->remote_store))
    pb_imap_store_set_offline_days (PB_IMAP_STORE (self->remote_store), days);
}

/**
 * pb_account_get_pop3_policy:
 *
 * Returns: (transfer none): what happens to the server's copy of POP3 messages
 */
const PbPop3Policy *
pb_account_get_pop3_policy (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), NULL);
  return &self->pop3_policy;
}

void
pb_account_set_pop3_policy (PbAccount          *self,
                            const PbPop3Policy *policy)
{
  g_return_if_fail (PB_IS_ACCOUNT (self));
  g_return_if_fail (policy != NULL);
  self->pop3_policy = *policy;
  if (self->remote_store != NULL && PB_IS_POP3_STORE (self->remote_store))
    pb_pop3_store_set_policy (PB_POP3_STORE (self->remote_store), policy);
}

/* The policy as keys of the account's group in accounts.ini; absent keys keep the defaults. */
void
pb_account_load_pop3_policy (PbAccount  *self,
                             GKeyFile   *file,
                             const char *group)
{
  PbPop3Policy policy = self->pop3_policy;

  if (g_key_file_has_key (file, group, "pop3-leave-on-server", NULL))
    policy.leave_on_server = g_key_file_get_boolean (file, group, "pop3-leave-on-server", NULL);
  if (g_key_file_has_key (file, group, "pop3-delete-after-days", NULL))
    policy.delete_after_days = CLAMP (g_key_file_get_integer (file, group,
                                                              "pop3-delete-after-days", NULL),
                                      0, 36500);
  if (g_key_file_has_key (file, group, "pop3-delete-when-deleted", NULL))
    policy.delete_when_deleted = g_key_file_get_boolean (file, group,
                                                         "pop3-delete-when-deleted", NULL);
  if (g_key_file_has_key (file, group, "pop3-headers-only-over", NULL))
    policy.headers_only_over = g_key_file_get_uint64 (file, group, "pop3-headers-only-over",
                                                      NULL);
  if (g_key_file_has_key (file, group, "pop3-apop", NULL))
    policy.apop = g_key_file_get_boolean (file, group, "pop3-apop", NULL);
  pb_account_set_pop3_policy (self, &policy);
}

void
pb_account_save_pop3_policy (PbAccount  *self,
                             GKeyFile   *file,
                             const char *group)
{
  const PbPop3Policy *policy = &self->pop3_policy;

  if (pb_service_get_protocol (self->incoming) != PB_PROTOCOL_POP3)
    return;
  g_key_file_set_boolean (file, group, "pop3-leave-on-server", policy->leave_on_server);
  if (policy->delete_after_days > 0)
    g_key_file_set_integer (file, group, "pop3-delete-after-days",
                            policy->delete_after_days);
  if (policy->delete_when_deleted)
    g_key_file_set_boolean (file, group, "pop3-delete-when-deleted", TRUE);
  if (policy->headers_only_over > 0)
    g_key_file_set_uint64 (file, group, "pop3-headers-only-over", policy->headers_only_over);
  if (policy->apop)
    g_key_file_set_boolean (file, group, "pop3-apop", TRUE);
}

/**
 * pb_account_get_credentials:
 *
 * Returns: (transfer none): the password command if the account has one, else the keyring.
 */
PbCredentials *
pb_account_get_credentials (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), NULL);

  if (self->credentials == NULL)
    {
      if (self->password_command != NULL)
        self->credentials = pb_command_credentials_new (self->password_command);
      else
        self->credentials = pb_secret_credentials_new (self->name);
    }
  return self->credentials;
}

/**
 * pb_account_get_remote_store:
 *
 * Returns: (transfer none) (nullable): the incoming backend, or %NULL for a protocol that has
 *   no backend yet
 */
PbRemoteStore *
pb_account_get_remote_store (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), NULL);

  if (self->remote_store == NULL)
    {
      switch (pb_service_get_protocol (self->incoming))
        {
        case PB_PROTOCOL_IMAP:
          self->remote_store = pb_imap_store_new (self->name, self->incoming,
                                                  pb_account_get_credentials (self));
          pb_imap_store_set_offline_days (PB_IMAP_STORE (self->remote_store),
                                          self->offline_days);
          break;
        case PB_PROTOCOL_POP3:
          self->remote_store = pb_pop3_store_new (self->name, self->incoming,
                                                  pb_account_get_credentials (self));
          pb_pop3_store_set_policy (PB_POP3_STORE (self->remote_store), &self->pop3_policy);
          break;
        case PB_PROTOCOL_SMTP:
        default:
          break;
        }
    }
  return self->remote_store;
}

/**
 * pb_account_get_transport:
 *
 * Returns: (transfer none) (nullable): the outgoing backend (SMTP), or %NULL when the account
 *   has no outgoing server
 */
PbTransport *
pb_account_get_transport (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), NULL);

  if (self->transport == NULL && self->outgoing != NULL
      && pb_service_get_protocol (self->outgoing) == PB_PROTOCOL_SMTP)
    {
      self->transport = pb_smtp_transport_new (self->outgoing,
                                               pb_account_get_credentials (self));
      pb_smtp_transport_set_auth (PB_SMTP_TRANSPORT (self->transport),
                                  self->outgoing_oauth ? PB_SMTP_AUTH_OAUTH
                                                       : PB_SMTP_AUTH_PASSWORD);
    }
  return self->transport;
}

/**
 * pb_account_set_outgoing_oauth:
 * @oauth: %TRUE when the account's secret (typically printed by its password command) is an
 *   OAuth 2 access token: SMTP then logs in with OAUTHBEARER or XOAUTH2, whichever the server
 *   offers, instead of PLAIN or LOGIN
 */
void
pb_account_set_outgoing_oauth (PbAccount *self,
                               gboolean   oauth)
{
  g_return_if_fail (PB_IS_ACCOUNT (self));
  self->outgoing_oauth = !!oauth;
  if (self->transport != NULL)
    pb_smtp_transport_set_auth (PB_SMTP_TRANSPORT (self->transport),
                                oauth ? PB_SMTP_AUTH_OAUTH : PB_SMTP_AUTH_PASSWORD);
}

gboolean
pb_account_get_outgoing_oauth (PbAccount *self)
{
  g_return_val_if_fail (PB_IS_ACCOUNT (self), FALSE);
  return self->outgoing_oauth;
}

/* Names appear in paths under $XDG_DATA_HOME/postbote and on the command line, so they are
 * restricted to characters that are safe in both. */
gboolean
pb_account_name_is_valid (const char *name)
{
  gsize n = 0;

  if (name == NULL || *name == '\0' || *name == '-' || *name == '.')
    return FALSE;
  for (const char *p = name; *p; p++, n++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return n <= 64;
}
