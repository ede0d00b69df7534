/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-credentials"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pb-command-credentials.h"

/* A password command that prints more than this is broken or not a password command. */
#define MAX_OUTPUT (64 * 1024)

struct _PbCommandCredentials
{
  GObject  parent_instance;
  char    *command;
};

static void credentials_iface_init (PbCredentialsInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PbCommandCredentials, pb_command_credentials, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PB_TYPE_CREDENTIALS, credentials_iface_init))

static char *
first_line (const char *text,
            gsize       length)
{
  gsize n = 0;

  while (n < length && text[n] != '\n' && text[n] != '\r' && text[n] != '\0')
    n++;
  return g_strndup (text, n);
}

static char *
pb_command_credentials_lookup (PbCredentials  *credentials,
                               PbService      *service,
                               GCancellable   *cancellable,
                               GError        **error)
{
  PbCommandCredentials *self = PB_COMMAND_CREDENTIALS (credentials);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GBytes) no_input = g_bytes_new_static ("", 0);
  g_autoptr(GError) local_error = NULL;
  const char *data;
  gsize length;
  char *password;

  /* The password travels through a pipe, never through arguments or the environment, where
   * other users could read it in /proc. stdin is closed so a command that prompts fails
   * instead of hanging. */
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                              | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &local_error, "/bin/sh", "-c", self->command, NULL);
  if (process == NULL
      || !g_subprocess_communicate (process, no_input, cancellable, &out, &err, &local_error))
    {
      g_set_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_COMMAND,
                   _("Could not run the password command: %s"), local_error->message);
      return NULL;
    }

  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    {
      g_autofree char *reason = NULL;

      data = g_bytes_get_data (err, &length);
      reason = first_line (data ? data : "", MIN (length, 300));
      if (!g_utf8_validate (reason, -1, NULL))
        g_clear_pointer (&reason, g_free);
      if (g_subprocess_get_if_exited (process))
        g_set_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_COMMAND,
                     _("The password command failed with exit status %d%s%s"),
                     g_subprocess_get_exit_status (process), reason && *reason ? ": " : "",
                     reason && *reason ? reason : "");
      else
        g_set_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_COMMAND,
                     _("The password command was killed by signal %d"),
                     g_subprocess_get_term_sig (process));
      return NULL;
    }

  data = g_bytes_get_data (out, &length);
  if (length > MAX_OUTPUT)
    {
      g_set_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_COMMAND,
                   _("The password command printed more than %d bytes"), MAX_OUTPUT);
      return NULL;
    }
  password = first_line (data ? data : "", length);
  /* Wipe the pipe's copy; GBytes from communicate() owns a private buffer. */
  if (data != NULL)
    explicit_bzero ((gpointer) data, length);
  if (*password == '\0')
    {
      pb_password_free (password);
      g_set_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_COMMAND,
                   _("The password command printed no password"));
      return NULL;
    }
  return password;
}

static gboolean
pb_command_credentials_store (PbCredentials  *credentials,
                              PbService      *service,
                              const char     *password,
                              GCancellable   *cancellable,
                              GError        **error)
{
  g_set_error (error, PB_CREDENTIALS_ERROR, PB_CREDENTIALS_ERROR_FAILED,
               _("This account gets its password from a command; change it where the command "
                 "reads it"));
  return FALSE;
}

static gboolean
pb_command_credentials_clear (PbCredentials  *credentials,
                              PbService      *service,
                              GCancellable   *cancellable,
                              GError        **error)
{
  /* The command owns the secret; there is nothing of ours to remove. */
  return TRUE;
}

static void
credentials_iface_init (PbCredentialsInterface *iface)
{
  iface->lookup = pb_command_credentials_lookup;
  iface->store = pb_command_credentials_store;
  iface->clear = pb_command_credentials_clear;
}

static void
pb_command_credentials_finalize (GObject *object)
{
  PbCommandCredentials *self = PB_COMMAND_CREDENTIALS (object);

  g_free (self->command);

  G_OBJECT_CLASS (pb_command_credentials_parent_class)->finalize (object);
}

static void
pb_command_credentials_class_init (PbCommandCredentialsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pb_command_credentials_finalize;
}

static void
pb_command_credentials_init (PbCommandCredentials *self)
{
}

PbCredentials *
pb_command_credentials_new (const char *command)
{
  PbCommandCredentials *self;

  g_return_val_if_fail (command != NULL && *command != '\0', NULL);

  self = g_object_new (PB_TYPE_COMMAND_CREDENTIALS, NULL);
  self->command = g_strdup (command);
  return PB_CREDENTIALS (self);
}
