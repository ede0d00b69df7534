/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-test-server"

#include "config.h"

#include "pb-test-server.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* The ports pb-mailserver reports, by the names pb_test_server_get_port() takes. */
static const char * const port_names[] = {
  "imap", "imaps", "pop3", "pop3s", "lmtp", "smtp", "smtps",
};

struct _PbTestServer
{
  char       *script;
  char       *dir;
  char       *ca_file;
  char       *config;
  GHashTable *ports;  /* name -> GUINT_TO_POINTER (port) */
};

static const char *
mailserver_script (void)
{
  const char *script = g_getenv ("PB_MAILSERVER");

  if (script == NULL || *script == '\0')
    g_error ("PB_MAILSERVER is not set: run this test through meson, which points it at "
             "build-aux/mailserver/pb-mailserver");
  return script;
}

/* Runs argv (no shell), feeding it input if not NULL. On success returns TRUE with stdout in
 * *out_stdout (NUL-terminated; may hold any bytes) if that is not NULL. On failure the error
 * message carries the exit status and what the command wrote to stderr. */
static gboolean
run_command (const char * const *argv,
             GBytes              *input,
             char               **out_stdout,
             GError             **error)
{
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GBytes) err = NULL;
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE;

  if (input != NULL)
    flags |= G_SUBPROCESS_FLAGS_STDIN_PIPE;
  proc = g_subprocess_newv (argv, flags, error);
  if (proc == NULL)
    return FALSE;
  if (!g_subprocess_communicate (proc, input, NULL, &out, &err, error))
    return FALSE;

  if (!g_subprocess_get_successful (proc))
    {
      g_autofree char *command = g_strjoinv (" ", (char **) argv);
      gsize len = 0;
      const char *data = err != NULL ? g_bytes_get_data (err, &len) : NULL;
      g_autofree char *text = g_strndup (data != NULL ? data : "", len);

      gboolean exited = g_subprocess_get_if_exited (proc);
      int code = exited ? g_subprocess_get_exit_status (proc) : g_subprocess_get_term_sig (proc);

      g_set_error (error, G_SPAWN_EXIT_ERROR, exited ? code : -1, "`%s` failed (%s %d):\n%s",
                   command, exited ? "exit status" : "signal", code, g_strstrip (text));
      return FALSE;
    }

  if (out_stdout != NULL)
    {
      gsize len = 0;
      const char *data = out != NULL ? g_bytes_get_data (out, &len) : NULL;

      *out_stdout = g_strndup (data != NULL ? data : "", len);
    }
  return TRUE;
}

/* rm -rf without following symbolic links. Returns FALSE (with errno set) on the first
 * failure. */
static gboolean
remove_tree (const char *path)
{
  struct stat st;

  if (g_lstat (path, &st) != 0)
    return errno == ENOENT;

  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      if (dir == NULL)
        return FALSE;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (!remove_tree (child))
            return FALSE;
        }
      return g_rmdir (path) == 0;
    }
  return g_unlink (path) == 0;
}

static void
pb_test_server_free (PbTestServer *self)
{
  g_free (self->script);
  g_free (self->dir);
  g_free (self->ca_file);
  g_free (self->config);
  g_clear_pointer (&self->ports, g_hash_table_unref);
  g_free (self);
}

static void
parse_env (PbTestServer *self,
           const char   *output)
{
  g_auto (GStrv) lines = g_strsplit (output, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      const char *eq = strchr (line, '=');
      g_autofree char *key = NULL;
      const char *value;

      if (eq == NULL)
        continue;
      key = g_strndup (line, eq - line);
      value = eq + 1;

      if (g_str_equal (key, "PB_DIR"))
        {
          if (!g_str_equal (value, self->dir))
            g_error ("pb-mailserver reported PB_DIR=%s, expected %s", value, self->dir);
        }
      else if (g_str_equal (key, "PB_CA_FILE"))
        {
          g_free (self->ca_file);
          self->ca_file = g_strdup (value);
        }
      else if (g_str_has_prefix (key, "PB_") && g_str_has_suffix (key, "_PORT"))
        {
          g_autofree char *name = g_ascii_strdown (key + 3, strlen (key) - 3 - 5);
          guint64 port = 0;

          if (!g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT16, &port, NULL))
            g_error ("pb-mailserver printed a bad port: %s", line);
          g_hash_table_insert (self->ports, g_steal_pointer (&name), GUINT_TO_POINTER (port));
        }
    }

  if (self->ca_file == NULL)
    g_error ("pb-mailserver did not report PB_CA_FILE:\n%s", output);
  for (guint i = 0; i < G_N_ELEMENTS (port_names); i++)
    if (!g_hash_table_contains (self->ports, port_names[i]))
      g_error ("pb-mailserver did not report the %s port:\n%s", port_names[i], output);
}

PbTestServer *
pb_test_server_start (const char *seed)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *parent_pid = g_strdup_printf ("%d", (int) getpid ());
  /* Not g_dir_make_tmp (): $TMPDIR may be long, and Unix socket paths in the folder must
   * stay under 108 bytes. */
  char template[] = "/tmp/pbms-XXXXXX";
  const char *script = mailserver_script ();
  PbTestServer *self;

  if (seed == NULL)
    seed = "none";

  if (g_mkdtemp (template) == NULL)
    g_error ("cannot create a folder for the mail server: %s", g_strerror (errno));

  self = g_new0 (PbTestServer, 1);
  self->script = g_strdup (script);
  self->dir = g_strdup (template);
  self->config = g_build_filename (self->dir, "dovecot.conf", NULL);
  self->ports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  {
    /* --parent-pid: if this test dies without stopping the server (a failed assertion
     * aborts), the server stops itself and removes its folder. */
    const char * const argv[] = {
      self->script, "start", self->dir, "--seed", seed, "--parent-pid", parent_pid, NULL,
    };

    if (!run_command (argv, NULL, &output, &error))
      {
        remove_tree (self->dir);
        g_error ("the test mail server did not start: %s", error->message);
      }
  }

  parse_env (self, output);
  g_debug ("mail server in %s: imap %u, imaps %u, smtp %u", self->dir,
           pb_test_server_get_port (self, "imap"), pb_test_server_get_port (self, "imaps"),
           pb_test_server_get_port (self, "smtp"));
  return self;
}

void
pb_test_server_stop (PbTestServer *server)
{
  g_autoptr (GError) error = NULL;
  const char * const argv[] = { server != NULL ? server->script : NULL, "stop",
                                server != NULL ? server->dir : NULL, NULL };

  if (server == NULL)
    return;

  if (!run_command (argv, NULL, NULL, &error))
    g_error ("the test mail server did not stop: %s", error->message);
  if (!remove_tree (server->dir))
    g_error ("cannot remove %s: %s", server->dir, g_strerror (errno));
  pb_test_server_free (server);
}

guint16
pb_test_server_get_port (PbTestServer *server,
                         const char   *name)
{
  gpointer port;

  g_return_val_if_fail (server != NULL, 0);
  g_return_val_if_fail (name != NULL, 0);

  if (!g_hash_table_lookup_extended (server->ports, name, NULL, &port))
    g_error ("pb_test_server_get_port: no port named \"%s\" (imap, imaps, pop3, pop3s, lmtp, "
             "smtp, smtps)", name);
  return (guint16) GPOINTER_TO_UINT (port);
}

const char *
pb_test_server_get_ca_file (PbTestServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);

  return server->ca_file;
}

const char *
pb_test_server_get_dir (PbTestServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);

  return server->dir;
}

gboolean
pb_test_server_deliver (PbTestServer  *server,
                        const char    *user,
                        const char    *message,
                        GError       **error)
{
  g_autoptr (GBytes) input = NULL;
  const char * const argv[] = { server != NULL ? server->script : NULL, "deliver",
                                server != NULL ? server->dir : NULL, user, NULL };

  g_return_val_if_fail (server != NULL, FALSE);
  g_return_val_if_fail (user != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  input = g_bytes_new (message, strlen (message));
  return run_command (argv, input, NULL, error);
}

gboolean
pb_test_server_doveadm (PbTestServer        *server,
                        const char * const  *args,
                        char               **out_stdout,
                        GError             **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_return_val_if_fail (server != NULL, FALSE);
  g_return_val_if_fail (args != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Always with -c: without it doveadm silently talks to the system's Dovecot. */
  g_ptr_array_add (argv, (gpointer) "doveadm");
  g_ptr_array_add (argv, (gpointer) "-c");
  g_ptr_array_add (argv, server->config);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  return run_command ((const char * const *) argv->pdata, NULL, out_stdout, error);
}
