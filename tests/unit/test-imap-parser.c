/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pb-imap-parser.h"

/*
 * Every response is checked through a canonical dump: atoms bare, numbers as "#n", strings
 * quoted with escapes, NIL, lists in parentheses, codes in brackets, text quoted. Feeding the
 * same bytes whole, one byte at a time, or split at any point must give the same dumps, and
 * spilling literals to disk must not change them either.
 */

/* Every parser of these tests spills into this directory, made empty in main() and checked to
 * be empty again at the end: spill files are unlinked when they are created. */
static char *spill_dir;

static PbImapParser *
parser_new (const PbImapParserLimits *limits)
{
  PbImapParser *parser = pb_imap_parser_new (limits);

  pb_imap_parser_set_spill_dir (parser, spill_dir);
  return parser;
}

static void
dump_string (GString      *out,
             const char   *str,
             gsize         len)
{
  g_string_append_c (out, '"');
  for (gsize i = 0; i < len; i++)
    {
      guchar ch = str[i];

      if (ch == '"' || ch == '\\')
        g_string_append_printf (out, "\\%c", ch);
      else if (ch == '\r')
        g_string_append (out, "\\r");
      else if (ch == '\n')
        g_string_append (out, "\\n");
      else if (ch < 0x20 || ch >= 0x7f)
        g_string_append_printf (out, "\\x%02x", ch);
      else
        g_string_append_c (out, ch);
    }
  g_string_append_c (out, '"');
}

static void dump_values (GString *out, GPtrArray *values);

static void
dump_value (GString           *out,
            const PbImapValue *value)
{
  switch (value->type)
    {
    case PB_IMAP_VALUE_ATOM:
      g_assert_nonnull (value->str);
      g_assert_cmpuint (strlen (value->str), ==, value->len);
      g_string_append (out, value->str);
      break;
    case PB_IMAP_VALUE_NUMBER:
      g_string_append_printf (out, "#%" G_GUINT64_FORMAT, value->number);
      break;
    case PB_IMAP_VALUE_STRING:
      {
        GBytes *bytes = pb_imap_value_get_bytes (value);
        gsize size;
        const char *data;

        /* Every string has bytes; a spilled literal has no str, a small string both. */
        g_assert_true (bytes == value->bytes);
        g_assert_nonnull (bytes);
        data = g_bytes_get_data (bytes, &size);
        g_assert_cmpuint (size, ==, value->len);
        if (value->str != NULL)
          {
            g_assert_true (data == value->str || size == 0);
            g_assert_cmpint (value->str[value->len], ==, '\0');
          }
        g_assert_true (pb_imap_value_get_string (value) == value->str);
        dump_string (out, data, size);
      }
      break;
    case PB_IMAP_VALUE_NIL:
      g_string_append (out, "NIL");
      break;
    case PB_IMAP_VALUE_LIST:
      g_string_append_c (out, '(');
      dump_values (out, value->list);
      g_string_append_c (out, ')');
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
dump_values (GString   *out,
             GPtrArray *values)
{
  for (guint i = 0; i < values->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ' ');
      dump_value (out, g_ptr_array_index (values, i));
    }
}

static const char *
status_name (PbImapStatus status)
{
  switch (status)
    {
    case PB_IMAP_STATUS_NONE: return "NONE";
    case PB_IMAP_STATUS_OK: return "OK";
    case PB_IMAP_STATUS_NO: return "NO";
    case PB_IMAP_STATUS_BAD: return "BAD";
    case PB_IMAP_STATUS_PREAUTH: return "PREAUTH";
    case PB_IMAP_STATUS_BYE: return "BYE";
    default: g_assert_not_reached ();
    }
}

static void
dump_resp_text (GString              *out,
                const PbImapResponse *response)
{
  g_assert_nonnull (response->text);
  g_assert_null (response->items);
  if (response->code != NULL)
    {
      g_string_append (out, " [");
      dump_values (out, response->code);
      g_string_append_c (out, ']');
    }
  g_string_append_c (out, ' ');
  dump_string (out, response->text, strlen (response->text));
}

static char *
dump_response (const PbImapResponse *response)
{
  GString *out = g_string_new (NULL);

  switch (response->kind)
    {
    case PB_IMAP_RESPONSE_TAGGED:
      g_assert_nonnull (response->tag);
      g_assert_cmpint (response->status, !=, PB_IMAP_STATUS_NONE);
      g_string_append_printf (out, "%s %s", response->tag, status_name (response->status));
      dump_resp_text (out, response);
      break;
    case PB_IMAP_RESPONSE_UNTAGGED:
      g_assert_null (response->tag);
      if (response->status == PB_IMAP_STATUS_NONE)
        {
          g_assert_nonnull (response->items);
          g_assert_null (response->code);
          g_assert_null (response->text);
          g_string_append (out, "* ");
          dump_values (out, response->items);
        }
      else
        {
          g_string_append_printf (out, "* %s", status_name (response->status));
          dump_resp_text (out, response);
        }
      break;
    case PB_IMAP_RESPONSE_CONTINUATION:
      g_assert_null (response->tag);
      g_assert_cmpint (response->status, ==, PB_IMAP_STATUS_NONE);
      g_string_append (out, "+");
      dump_resp_text (out, response);
      break;
    default:
      g_assert_not_reached ();
    }

  return g_string_free (out, FALSE);
}

/* Parsing drivers */

typedef struct {
  GPtrArray *dumps;       /* one string per response, then "ERROR <code>: <message>" if any */
  gboolean   failed;
  int        error_code;
} Outcome;

static void
outcome_clear (Outcome *outcome)
{
  g_clear_pointer (&outcome->dumps, g_ptr_array_unref);
}

static char *
outcome_join (const Outcome *outcome)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < outcome->dumps->len; i++)
    {
      g_string_append (out, g_ptr_array_index (outcome->dumps, i));
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

/* Drains every complete response. Returns FALSE once an error was recorded. */
static gboolean
drain (PbImapParser *parser,
       Outcome      *outcome)
{
  for (;;)
    {
      g_autoptr(PbImapResponse) response = NULL;
      g_autoptr(GError) error = NULL;
      PbImapParseResult result = pb_imap_parser_next (parser, &response, &error);

      switch (result)
        {
        case PB_IMAP_PARSE_NEED_MORE:
          g_assert_no_error (error);
          g_assert_null (response);
          return TRUE;
        case PB_IMAP_PARSE_OK:
          g_assert_no_error (error);
          g_assert_nonnull (response);
          g_ptr_array_add (outcome->dumps, dump_response (response));
          break;
        case PB_IMAP_PARSE_ERROR:
          g_assert_nonnull (error);
          g_assert_null (response);
          g_assert_true (error->domain == PB_IMAP_ERROR);
          g_ptr_array_add (outcome->dumps,
                           g_strdup_printf ("ERROR %d: %s", error->code, error->message));
          outcome->failed = TRUE;
          outcome->error_code = error->code;
          return FALSE;
        default:
          g_assert_not_reached ();
        }
    }
}

/* Feeds data in pieces of the given sizes (cycled; 0 means all at once). */
static Outcome
parse_chunked (const PbImapParserLimits *limits,
               const guint8             *data,
               gsize                     len,
               const gsize              *chunks,
               guint                     n_chunks)
{
  g_autoptr(PbImapParser) parser = parser_new (limits);
  Outcome outcome = { g_ptr_array_new_with_free_func (g_free), FALSE, 0 };
  gsize off = 0;
  guint i = 0;

  while (off < len)
    {
      gsize n = n_chunks > 0 && chunks[i % n_chunks] > 0 ? chunks[i % n_chunks] : len;

      n = MIN (n, len - off);
      pb_imap_parser_feed (parser, data + off, n);
      off += n;
      i++;
      if (!drain (parser, &outcome))
        return outcome;
    }
  drain (parser, &outcome);
  if (!outcome.failed)
    g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 0);
  return outcome;
}

static Outcome
parse_whole (const PbImapParserLimits *limits,
             const guint8             *data,
             gsize                     len)
{
  return parse_chunked (limits, data, len, NULL, 0);
}

/* Whole, one byte at a time, at every split point into two pieces (when short enough), and in
 * a few irregular chunkings: all must agree, with literals in memory and with every literal of
 * two bytes or more spilled to disk. Returns the whole-feed outcome. */
static Outcome
parse_every_way (const PbImapParserLimits *limits,
                 const guint8             *data,
                 gsize                     len,
                 gboolean                  every_split)
{
  static const gsize bytewise[] = { 1 };
  static const gsize irregular[] = { 7, 1, 13, 2, 64, 3 };
  PbImapParserLimits spilling = { 0 };
  const PbImapParserLimits *variants[2];
  Outcome whole = parse_whole (limits, data, len);
  g_autofree char *expected = outcome_join (&whole);
  Outcome other;
  g_autofree char *got = NULL;

  if (limits != NULL)
    spilling = *limits;
  spilling.spill_threshold = 1;
  variants[0] = limits;
  variants[1] = &spilling;

  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      if (v > 0)
        {
          other = parse_whole (variants[v], data, len);
          got = outcome_join (&other);
          g_assert_cmpstr (got, ==, expected);
          outcome_clear (&other);
          g_clear_pointer (&got, g_free);
        }

      other = parse_chunked (variants[v], data, len, bytewise, 1);
      got = outcome_join (&other);
      g_assert_cmpstr (got, ==, expected);
      outcome_clear (&other);
      g_clear_pointer (&got, g_free);

      other = parse_chunked (variants[v], data, len, irregular, G_N_ELEMENTS (irregular));
      got = outcome_join (&other);
      g_assert_cmpstr (got, ==, expected);
      outcome_clear (&other);
      g_clear_pointer (&got, g_free);

      if (!every_split)
        continue;

      for (gsize split = 1; split < len; split++)
        {
          gsize chunks[2] = { split, len - split };

          other = parse_chunked (variants[v], data, len, chunks, 2);
          got = outcome_join (&other);
          if (g_strcmp0 (got, expected) != 0)
            g_error ("split at %" G_GSIZE_FORMAT "%s differs:\n%s\nexpected:\n%s", split,
                     v > 0 ? " (spilling)" : "", got, expected);
          outcome_clear (&other);
          g_clear_pointer (&got, g_free);
        }
    }

  return whole;
}

/* Shapes: one input, one expected dump */

typedef struct {
  const char *input;
  gsize       input_len;  /* 0: strlen */
  const char *expected;
} ShapeCase;

#define BIN(s) s, sizeof (s) - 1

static const ShapeCase shape_cases[] = {
  /* Status responses and response codes */
  { "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN] Dovecot ready.\r\n", 0,
    "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN] \"Dovecot ready.\"" },
  { "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n", 0,
    "* OK [UIDVALIDITY #3857529045] \"UIDs valid\"" },
  { "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n", 0,
    "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] \"Limited\"" },
  { "A7 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n", 0,
    "A7 OK [COPYUID #38505 304,319:320 3956:3958] \"Done\"" },
  { "* NO [ALERT] Mailbox is at 95% of quota (see \"Settings\") ] [x]\r\n", 0,
    "* NO [ALERT] \"Mailbox is at 95% of quota (see \\\"Settings\\\") ] [x]\"" },
  { "A3 NO [BADCHARSET (UTF-8)] Unknown charset\r\n", 0,
    "A3 NO [BADCHARSET (UTF-8)] \"Unknown charset\"" },
  { "A3 NO [BADCHARSET (UTF-8 \"ISO-8859-1\")] x\r\n", 0,
    "A3 NO [BADCHARSET (UTF-8 \"ISO-8859-1\")] \"x\"" },
  { "A1 OK [READ-WRITE] SELECT completed\r\n", 0,
    "A1 OK [READ-WRITE] \"SELECT completed\"" },
  { "* OK [HIGHESTMODSEQ 9223372036854775807] max\r\n", 0,
    "* OK [HIGHESTMODSEQ #9223372036854775807] \"max\"" },
  { "* OK [UNKNOWN-CTE]\r\n", 0, "* OK [UNKNOWN-CTE] \"\"" },
  { "* OK [XYZ some \"odd (text]\r\n", 0, "* OK [XYZ \"some \\\"odd (text\"] \"\"" },
  { "* OK [XYZ a {3}] t\r\n", 0, "* OK [XYZ \"a {3}\"] \"t\"" },
  { "* OK [ALERT text without a close\r\n", 0, "* OK \"[ALERT text without a close\"" },
  { "* OK [] empty\r\n", 0, "* OK \"[] empty\"" },
  { "* OK[ALERT] no space\r\n", 0, "* OK [ALERT] \"no space\"" },
  { "* OK\r\n", 0, "* OK \"\"" },
  { "* OK \r\n", 0, "* OK \"\"" },
  { "* ok lowercase keyword\r\n", 0, "* OK \"lowercase keyword\"" },
  { "* PREAUTH [CAPABILITY IMAP4rev1] Logged in as peter\r\n", 0,
    "* PREAUTH [CAPABILITY IMAP4rev1] \"Logged in as peter\"" },
  { "* BYE Autologout; idle for too long\r\n", 0, "* BYE \"Autologout; idle for too long\"" },
  { "A0001 BAD Error in IMAP command: Unknown command.\r\n", 0,
    "A0001 BAD \"Error in IMAP command: Unknown command.\"" },
  { "a.b-c]7 no [TRYCREATE] No such mailbox\r\n", 0, "a.b-c]7 NO [TRYCREATE] \"No such mailbox\"" },
  { "A1 OK done {5}\r\n", 0, "A1 OK \"done {5}\"" },
  { "* OK Gr\xc3\xbc\xc3\x9f Gott\r\n", 0, "* OK \"Gr\\xc3\\xbc\\xc3\\x9f Gott\"" },
  { "* OK The Exchange IMAP4 service is ready. [TQBXADIA]\r\n", 0,
    "* OK \"The Exchange IMAP4 service is ready. [TQBXADIA]\"" },
  { "* OK [REFERRAL imap://peter@mail2.example.org/INBOX] Try there\r\n", 0,
    "* OK [REFERRAL imap://peter@mail2.example.org/INBOX] \"Try there\"" },

  /* Continuations */
  { "+ Ready for literal data\r\n", 0, "+ \"Ready for literal data\"" },
  { "+\r\n", 0, "+ \"\"" },
  { "+ \r\n", 0, "+ \"\"" },
  { "+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n", 0,
    "+ \"YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\"" },
  { "+ [ALERT] slow down\r\n", 0, "+ [ALERT] \"slow down\"" },

  /* Untagged data */
  { "* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n", 0,
    "* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED" },
  { "* 23 EXISTS\r\n", 0, "* #23 EXISTS" },
  { "* 3 EXPUNGE\r\n", 0, "* #3 EXPUNGE" },
  { "* 4294967296 EXISTS\r\n", 0, "* #4294967296 EXISTS" },
  { "* 9223372036854775807 EXISTS\r\n", 0, "* #9223372036854775807 EXISTS" },
  { "* 0000000000000000000000000042 EXISTS\r\n", 0, "* #42 EXISTS" },
  { "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded nonjunk)\r\n", 0,
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded nonjunk)" },
  { "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n", 0,
    "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"" },
  { "* LIST () NIL INBOX\r\n", 0, "* LIST () NIL INBOX" },
  { "* LIST (\\Noselect) \"/\" ~peter/mail/&U,BTFw-/&ZeVnLIqe-\r\n", 0,
    "* LIST (\\Noselect) \"/\" ~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
  { "* LIST (\\HasNoChildren) \"/\" {11}\r\nfoo \"bar\" \\\r\n", 0,
    "* LIST (\\HasNoChildren) \"/\" \"foo \\\"bar\\\" \\\\\"" },
  { "* LIST (\\HasNoChildren) \"/\" [Gmail]/Sent\r\n", 0,
    "* LIST (\\HasNoChildren) \"/\" [Gmail]/Sent" },
  { "* LIST (\\HasNoChildren) \".\" 2023\r\n", 0, "* LIST (\\HasNoChildren) \".\" #2023" },
  { "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n", 0,
    "* STATUS blurdybloop (MESSAGES #231 UIDNEXT #44292)" },
  { "* SEARCH 2 3 6\r\n", 0, "* SEARCH #2 #3 #6" },
  { "* SEARCH\r\n", 0, "* SEARCH" },
  { "* SEARCH \r\n", 0, "* SEARCH" },
  { "* ESEARCH (TAG \"A1\") UID ALL 1:5\r\n", 0, "* ESEARCH (TAG \"A1\") UID ALL 1:5" },
  { "* ESEARCH (TAG \"A2\") UID COUNT 0\r\n", 0, "* ESEARCH (TAG \"A2\") UID COUNT #0" },
  { "* ENABLED CONDSTORE\r\n", 0, "* ENABLED CONDSTORE" },
  { "* VANISHED (EARLIER) 41,43:116\r\n", 0, "* VANISHED (EARLIER) 41,43:116" },
  { "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n", 0, "* NAMESPACE ((\"\" \"/\")) NIL NIL" },
  { "* ID (\"name\" \"Dovecot\")\r\n", 0, "* ID (\"name\" \"Dovecot\")" },
  { "* ID NIL\r\n", 0, "* ID NIL" },
  { "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n", 0, "* THREAD (#2) (#3 #6 (#4 #23) (#44 #7 #96))" },
  { "* QUOTA \"\" (STORAGE 10 512)\r\n", 0, "* QUOTA \"\" (STORAGE #10 #512)" },
  { "* 1 FETCH (FLAGS (\\Seen ) UID 4 )\r\n", 0, "* #1 FETCH (FLAGS (\\Seen) UID #4)" },
  { "* 1 FETCH (X-GM-LABELS (\\Inbox \"\\\\Important\" \"Muy Importante\"))\r\n", 0,
    "* #1 FETCH (X-GM-LABELS (\\Inbox \"\\\\Important\" \"Muy Importante\"))" },
  { "* 12 FETCH (UID 5 FLAGS (\\Seen $Forwarded) MODSEQ (12345) RFC822.SIZE 44827 "
    "INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n", 0,
    "* #12 FETCH (UID #5 FLAGS (\\Seen $Forwarded) MODSEQ (#12345) RFC822.SIZE #44827 "
    "INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")" },
  { "* 12 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary "
    "and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) NIL NIL "
    "((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
    "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
    "\"<B27397-0100000@cac.washington.edu>\"))\r\n", 0,
    "* #12 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary "
    "and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) NIL NIL "
    "((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\") "
    "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
    "\"<B27397-0100000@cac.washington.edu>\"))" },
  { "* 12 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
    "1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") "
    "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) "
    "\"MIXED\"))\r\n", 0,
    "* #12 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
    "#1152 #23) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") "
    "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" #4554 #73) "
    "\"MIXED\"))" },
  { BIN ("* 12 FETCH (BODY[] {12}\r\nHello\r\nWorld BODY[HEADER.FIELDS (FROM SUBJECT)] {19}\r\n"
    "Subject: x\r\nFrom: y BODY[1.2]<0> \"Hi \\\"you\\\" \\\\o/\" "
    "BINARY[1] ~{5}\r\n\x00\x01\x02\r\n"
    " UID 5)\r\n"),
    "* #12 FETCH (BODY[] \"Hello\\r\\nWorld\" BODY[HEADER.FIELDS (FROM SUBJECT)] "
    "\"Subject: x\\r\\nFrom: y\" BODY[1.2]<0> \"Hi \\\"you\\\" \\\\o/\" BINARY[1] "
    "\"\\x00\\x01\\x02\\r\\n\" UID #5)" },
  { "* 1 FETCH (BODY[HEADER.FIELDS (FROM SUBJECT)]<0> {0}\r\n)\r\n", 0,
    "* #1 FETCH (BODY[HEADER.FIELDS (FROM SUBJECT)]<0> \"\")" },
  { "* 1 FETCH (BODY[HEADER.FIELDS (\"X-]\" SUBJECT)] NIL)\r\n", 0,
    "* #1 FETCH (BODY[HEADER.FIELDS (\"X-]\" SUBJECT)] NIL)" },
  { "* 1 FETCH (BODY[HEADER.FIELDS (\"X-\\\"]\" A)] NIL)\r\n", 0,
    "* #1 FETCH (BODY[HEADER.FIELDS (\"X-\\\"]\" A)] NIL)" },
  { "* 1 FETCH (BODY[1] {3+}\r\nabc)\r\n", 0, "* #1 FETCH (BODY[1] \"abc\")" },
  { BIN ("* 1 FETCH (BODY[] {4}\r\na\x00\r\n)\r\n"), "* #1 FETCH (BODY[] \"a\\x00\\r\\n\")" },
  { "* 1 FETCH (BODY[] {5}\r\n{4}\r\n)\r\n", 0, "* #1 FETCH (BODY[] \"{4}\\r\\n\")" },
  { "* 1 FETCH (BODY[] NIL nil Nil)\r\n", 0, "* #1 FETCH (BODY[] NIL NIL NIL)" },
  { "* 1 FETCH (X \"\" Y {0}\r\n Z ~{0}\r\n)\r\n", 0, "* #1 FETCH (X \"\" Y \"\" Z \"\")" },
  { "* X NILS NIL0 \"NIL\" 12a a12 1:* \\* ~ ~x\r\n", 0,
    "* X NILS NIL0 \"NIL\" 12a a12 1:* \\* ~ ~x" },
  { "* X \"caf\xc3\xa9\"\r\n", 0, "* X \"caf\\xc3\\xa9\"" },
  { "* X  \"a\"\"b\"(c)d\r\n", 0, "* X \"a\" \"b\" (c) d" },
};

static void
test_shapes (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (shape_cases); i++)
    {
      const ShapeCase *tc = &shape_cases[i];
      gsize len = tc->input_len ? tc->input_len : strlen (tc->input);
      Outcome outcome;

      g_test_message ("case %u: %s", i, tc->expected);
      outcome = parse_every_way (NULL, (const guint8 *) tc->input, len, TRUE);
      g_assert_false (outcome.failed);
      g_assert_cmpuint (outcome.dumps->len, ==, 1);
      g_assert_cmpstr (g_ptr_array_index (outcome.dumps, 0), ==, tc->expected);
      outcome_clear (&outcome);
    }
}

/* Selected fields, checked directly rather than through the dump. */
static void
test_fields (void)
{
  static const char input[] =
    "A42 OK [UIDNEXT 5] done\r\n"
    "* 7 FETCH (BODY[] {3}\r\na\x00z UID 9)\r\n"
    "* LIST () \"/\" 2023\r\n";
  g_autoptr(PbImapParser) parser = parser_new (NULL);
  g_autoptr(PbImapResponse) r1 = NULL;
  g_autoptr(PbImapResponse) r2 = NULL;
  g_autoptr(PbImapResponse) r3 = NULL;
  g_autoptr(PbImapResponse) r4 = NULL;
  g_autoptr(GError) error = NULL;
  PbImapValue *fetch, *body;

  pb_imap_parser_feed (parser, (const guint8 *) input, sizeof input - 1);

  g_assert_cmpint (pb_imap_parser_next (parser, &r1, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_cmpint (r1->kind, ==, PB_IMAP_RESPONSE_TAGGED);
  g_assert_cmpstr (r1->tag, ==, "A42");
  g_assert_cmpint (r1->status, ==, PB_IMAP_STATUS_OK);
  g_assert_cmpuint (r1->code->len, ==, 2);
  g_assert_true (pb_imap_value_is_atom (g_ptr_array_index (r1->code, 0), "uidnext"));
  g_assert_true (pb_imap_value_is_atom (g_ptr_array_index (r1->code, 0), "UIDNEXT"));
  g_assert_false (pb_imap_value_is_atom (g_ptr_array_index (r1->code, 0), "UIDNEX"));
  g_assert_false (pb_imap_value_is_atom (g_ptr_array_index (r1->code, 1), "5"));
  g_assert_cmpuint (((PbImapValue *) g_ptr_array_index (r1->code, 1))->number, ==, 5);
  g_assert_cmpstr (r1->text, ==, "done");
  g_assert_null (r1->items);

  g_assert_cmpint (pb_imap_parser_next (parser, &r2, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_cmpint (r2->kind, ==, PB_IMAP_RESPONSE_UNTAGGED);
  g_assert_cmpint (r2->status, ==, PB_IMAP_STATUS_NONE);
  g_assert_cmpuint (r2->items->len, ==, 3);
  g_assert_cmpint (((PbImapValue *) g_ptr_array_index (r2->items, 0))->type, ==,
                   PB_IMAP_VALUE_NUMBER);
  g_assert_cmpuint (((PbImapValue *) g_ptr_array_index (r2->items, 0))->number, ==, 7);
  g_assert_true (pb_imap_value_is_atom (g_ptr_array_index (r2->items, 1), "fetch"));
  fetch = g_ptr_array_index (r2->items, 2);
  g_assert_cmpint (fetch->type, ==, PB_IMAP_VALUE_LIST);
  g_assert_cmpuint (fetch->list->len, ==, 4);
  body = g_ptr_array_index (fetch->list, 1);
  g_assert_cmpint (body->type, ==, PB_IMAP_VALUE_STRING);
  g_assert_cmpuint (body->len, ==, 3);
  g_assert_cmpmem (body->str, 4, "a\0z", 4);
  g_assert_true (pb_imap_value_get_string (body) == body->str);
  g_assert_null (pb_imap_value_get_string (fetch));

  g_assert_cmpint (pb_imap_parser_next (parser, &r3, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_cmpint (((PbImapValue *) g_ptr_array_index (r3->items, 2))->type, ==,
                   PB_IMAP_VALUE_STRING);
  /* A mailbox named with digits only arrives as a number but keeps its spelling. */
  g_assert_cmpstr (pb_imap_value_get_string (g_ptr_array_index (r3->items, 3)), ==, "2023");
  g_assert_null (pb_imap_value_get_string (g_ptr_array_index (r3->items, 1)));

  g_assert_cmpint (pb_imap_parser_next (parser, &r4, &error), ==, PB_IMAP_PARSE_NEED_MORE);
  g_assert_null (r4);
  g_assert_no_error (error);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 0);

  g_assert_false (pb_imap_value_is_atom (NULL, "X"));
  g_assert_null (pb_imap_value_get_string (NULL));
  pb_imap_value_free (NULL);
  pb_imap_response_free (NULL);
}

/* Malformed input */

typedef struct {
  const char *input;
  gsize       input_len;
  int         code;
} ErrorCase;

static const ErrorCase error_cases[] = {
  { "\r\n", 0, PB_IMAP_ERROR_PARSE },
  { " * OK\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "*\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* \r\n", 0, PB_IMAP_ERROR_PARSE },
  { "*5 EXISTS\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* 1 EXISTS\n", 0, PB_IMAP_ERROR_PARSE },
  { "A1 OK done\n", 0, PB_IMAP_ERROR_PARSE },
  { "* OK\n", 0, PB_IMAP_ERROR_PARSE },
  { "* OK foo\rbar\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* 1 EXISTS\r* 2 EXISTS\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* 1 EXISTS\r\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "+foo\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "A1 BYE bye\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "A1 PREAUTH x\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "A1 FOO x\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "A1\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "A(1 OK x\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* OKAY\r\n", 0, -1 }, /* -1: parses fine, as data rather than status */
  { "* X (a b\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X a)\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X ((a)\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X )(\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X \"abc\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X \"a\rb\"\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X \"a\nb\"\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X \"a\\qb\"\r\n", 0, PB_IMAP_ERROR_PARSE },
  { BIN ("* X \"a\x00" "b\"\r\n"), PB_IMAP_ERROR_PARSE },
  { BIN ("* X a\x00" "b\r\n"), PB_IMAP_ERROR_PARSE },
  { BIN ("* X \x00\r\n"), PB_IMAP_ERROR_PARSE },
  { BIN ("* OK a\x00" "b\r\n"), PB_IMAP_ERROR_PARSE },
  { BIN ("A1 OK [ALERT\x00] x\r\n"), PB_IMAP_ERROR_PARSE },
  { "* X \x01\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X \x7f\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X {}\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X {5x}\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X {5}x\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X {+}\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X {5\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X ~{x}\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X BODY[HEADER\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X BODY[HEADER.FIELDS (\"A)]\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* X BODY[{3}\r\nabc]\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* 1 FETCH (BODY[] {3}\r\nabc\r\n", 0, PB_IMAP_ERROR_PARSE },
  { "* 18446744073709551616 EXISTS\r\n", 0, PB_IMAP_ERROR_LIMIT },
  { "* 9223372036854775808 EXISTS\r\n", 0, PB_IMAP_ERROR_LIMIT },
  { "* 99999999999999999999999999999999999999 EXISTS\r\n", 0, PB_IMAP_ERROR_LIMIT },
  { "* OK [UIDNEXT 99999999999999999999] x\r\n", 0, PB_IMAP_ERROR_LIMIT },
  { "* 1 FETCH (BODY[] {18446744073709551616}\r\n", 0, PB_IMAP_ERROR_LIMIT },
  { "* 1 FETCH (BODY[] {9223372036854775808}\r\n", 0, PB_IMAP_ERROR_LIMIT },
  { "* 1 FETCH (BODY[] {4294967296}\r\n", 0, PB_IMAP_ERROR_LIMIT },
  { "* 1 FETCH (BODY[] ~{4294967296}\r\n", 0, PB_IMAP_ERROR_LIMIT },
  { "* 1 FETCH (BODY[] {67108865}\r\n", 0, PB_IMAP_ERROR_LIMIT },
};

static void
test_errors (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      const ErrorCase *tc = &error_cases[i];
      gsize len = tc->input_len ? tc->input_len : strlen (tc->input);
      g_autofree char *escaped = g_strescape (tc->input, NULL);
      Outcome outcome;

      g_test_message ("case %u: %s", i, escaped);
      outcome = parse_every_way (NULL, (const guint8 *) tc->input, len, TRUE);
      if (tc->code < 0)
        {
          g_assert_false (outcome.failed);
        }
      else
        {
          g_assert_true (outcome.failed);
          g_assert_cmpint (outcome.error_code, ==, tc->code);
          g_test_message ("  %s",
                          (char *) g_ptr_array_index (outcome.dumps, outcome.dumps->len - 1));
        }
      outcome_clear (&outcome);
    }
}

/* The message names what was expected and where. */
static void
test_error_message (void)
{
  static const char input[] = "* 1 EXISTS\r\n* X (a b\r\n";
  g_autoptr(PbImapParser) parser = parser_new (NULL);
  g_autoptr(PbImapResponse) response = NULL;
  g_autoptr(GError) error = NULL;

  pb_imap_parser_feed (parser, (const guint8 *) input, sizeof input - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
  g_clear_pointer (&response, pb_imap_response_free);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_ERROR);
  g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "expected ')'"));
  g_assert_nonnull (strstr (error->message, "at byte 20"));
  g_assert_nonnull (strstr (error->message, "found CR"));
}

/* After an error nothing more comes out until reset; after reset the parser works again. */
static void
test_error_sticky (void)
{
  static const char bad[] = "* X )\r\n* 1 EXISTS\r\n";
  static const char good[] = "* 2 EXISTS\r\n";
  g_autoptr(PbImapParser) parser = parser_new (NULL);
  g_autoptr(PbImapResponse) response = NULL;
  g_autoptr(GError) error = NULL;

  pb_imap_parser_feed (parser, (const guint8 *) bad, sizeof bad - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_ERROR);
  g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE);
  g_clear_error (&error);

  pb_imap_parser_feed (parser, (const guint8 *) good, sizeof good - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_ERROR);
  g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_PARSE);
  g_clear_error (&error);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, NULL), ==, PB_IMAP_PARSE_ERROR);
  g_assert_null (response);

  pb_imap_parser_reset (parser);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 0);
  pb_imap_parser_feed (parser, (const guint8 *) good, sizeof good - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_no_error (error);
  g_assert_cmpuint (((PbImapValue *) g_ptr_array_index (response->items, 0))->number, ==, 2);

  /* Reset also throws away a half-received response. */
  g_clear_pointer (&response, pb_imap_response_free);
  pb_imap_parser_feed (parser, (const guint8 *) "* 1 FETCH (BODY[] {100}\r\nabc", 28);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_NEED_MORE);
  pb_imap_parser_reset (parser);
  pb_imap_parser_feed (parser, (const guint8 *) good, sizeof good - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
}

/* Limits: the limit itself is accepted, one more is refused. */

static Outcome
parse_string_with (const PbImapParserLimits *limits,
                   const char               *input,
                   gsize                     len)
{
  return parse_every_way (limits, (const guint8 *) input, len, len < 300);
}

static void
expect_ok (const PbImapParserLimits *limits,
           const char               *input,
           gsize                     len)
{
  Outcome outcome = parse_string_with (limits, input, len);

  if (outcome.failed)
    g_error ("unexpected %s", (char *) g_ptr_array_index (outcome.dumps, outcome.dumps->len - 1));
  g_assert_cmpuint (outcome.dumps->len, ==, 1);
  outcome_clear (&outcome);
}

static void
expect_limit (const PbImapParserLimits *limits,
              const char               *input,
              gsize                     len)
{
  Outcome outcome = parse_string_with (limits, input, len);

  g_assert_true (outcome.failed);
  g_assert_cmpint (outcome.error_code, ==, PB_IMAP_ERROR_LIMIT);
  outcome_clear (&outcome);
}

/* "* X aaaa...\r\n" of exactly total bytes. */
static char *
line_of_length (const char *prefix,
                gsize       total)
{
  GString *s = g_string_new (prefix);

  g_assert_cmpuint (total, >=, strlen (prefix) + 3);
  while (s->len < total - 2)
    g_string_append_c (s, 'a');
  g_string_append (s, "\r\n");
  return g_string_free (s, FALSE);
}

static void
test_limit_line (void)
{
  PbImapParserLimits limits = { .max_line = 40 };
  g_autofree char *at = line_of_length ("* X ", 40);
  g_autofree char *over = line_of_length ("* X ", 41);
  g_autofree char *status_at = line_of_length ("A1 OK ", 40);
  g_autofree char *status_over = line_of_length ("A1 OK ", 41);
  g_autofree char *after_literal_at = NULL;
  g_autofree char *after_literal_over = NULL;
  g_autofree char *tail_at = line_of_length (" ", 30);
  g_autofree char *tail_over = line_of_length (" ", 31);

  expect_ok (&limits, at, 40);
  expect_limit (&limits, over, 41);
  expect_ok (&limits, status_at, 40);
  expect_limit (&limits, status_over, 41);

  /* Literal bytes do not count, but the lines around a literal count together: the first
   * line here is 10 bytes, so 30 are left for the second. */
  after_literal_at = g_strconcat ("* X {60}\r\n", "0123456789012345678901234567890123456789"
                                  "01234567890123456789", tail_at, NULL);
  after_literal_over = g_strconcat ("* X {60}\r\n", "0123456789012345678901234567890123456789"
                                    "01234567890123456789", tail_over, NULL);
  expect_ok (&limits, after_literal_at, strlen (after_literal_at));
  expect_limit (&limits, after_literal_over, strlen (after_literal_over));

  /* Chaining empty literals does not make a response endless. */
  {
    g_autoptr(PbImapParser) parser = parser_new (&limits);
    g_autoptr(PbImapResponse) response = NULL;
    g_autoptr(GError) error = NULL;
    PbImapParseResult result;
    guint lines = 0;

    pb_imap_parser_feed (parser, (const guint8 *) "* X (", 5);
    do
      {
        pb_imap_parser_feed (parser, (const guint8 *) "{0}\r\n", 5);
        lines++;
        result = pb_imap_parser_next (parser, &response, &error);
      }
    while (result == PB_IMAP_PARSE_NEED_MORE && lines < 1000);
    g_assert_cmpint (result, ==, PB_IMAP_PARSE_ERROR);
    g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_LIMIT);
    g_assert_cmpuint (lines, <=, 8);
  }

  /* Default: 64 KiB. */
  {
    g_autofree char *def_at = line_of_length ("* X ", 64 * 1024);
    g_autofree char *def_over = line_of_length ("* X ", 64 * 1024 + 1);

    expect_ok (NULL, def_at, 64 * 1024);
    expect_limit (NULL, def_over, 64 * 1024 + 1);
  }
}

static void
test_limit_literal (void)
{
  PbImapParserLimits limits = { .max_literal = 10 };
  g_autoptr(PbImapParser) parser = NULL;
  g_autoptr(PbImapResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  static const char at[] = "* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n";
  static const char over[] = "* 1 FETCH (BODY[] {11}\r\n0123456789a)\r\n";
  static const char at8[] = "* 1 FETCH (BINARY[] ~{10}\r\n0123456789)\r\n";
  static const char over8[] = "* 1 FETCH (BINARY[] ~{11}\r\n0123456789a)\r\n";
  static const char big[] = "* 1 FETCH (BODY[] {67108864}\r\n";
  static const char huge[] = "* 1 FETCH (BODY[] {4294967296}\r\n";
  static const char max63[] = "* 1 FETCH (BODY[] {9223372036854775807}\r\n";

  expect_ok (&limits, at, sizeof at - 1);
  expect_limit (&limits, over, sizeof over - 1);
  expect_ok (&limits, at8, sizeof at8 - 1);
  expect_limit (&limits, over8, sizeof over8 - 1);

  /* The size is refused as soon as it is announced, before any data. */
  parser = parser_new (&limits);
  pb_imap_parser_feed (parser, (const guint8 *) over, 24);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_ERROR);
  g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_LIMIT);
  g_clear_error (&error);
  g_clear_pointer (&parser, pb_imap_parser_free);

  /* The default allows 64 MiB, waiting for the data. */
  parser = parser_new (NULL);
  pb_imap_parser_feed (parser, (const guint8 *) big, sizeof big - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_NEED_MORE);
  g_assert_no_error (error);
  g_clear_pointer (&parser, pb_imap_parser_free);

  /* Sizes beyond 32 bits are fine for the parser when the caller allows them. */
  limits.max_literal = G_MAXSIZE;
  parser = parser_new (&limits);
  pb_imap_parser_feed (parser, (const guint8 *) huge, sizeof huge - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_NEED_MORE);
  g_assert_no_error (error);
  g_clear_pointer (&parser, pb_imap_parser_free);

  parser = parser_new (&limits);
  pb_imap_parser_feed (parser, (const guint8 *) max63, sizeof max63 - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_NEED_MORE);
  g_assert_no_error (error);
  pb_imap_parser_feed (parser, (const guint8 *) "abc", 3);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_NEED_MORE);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, sizeof max63 - 1 + 3);
}

static void
test_limit_response (void)
{
  /* 39 bytes, 20 of them in literals: each literal and the lines are well within their own
   * limits, so only max_response decides. */
  static const char input[] = "* X {10}\r\n0123456789 {10}\r\n0123456789\r\n";
  PbImapParserLimits limits = { .max_literal = 10, .max_response = 39 };
  g_autofree char *big = NULL;

  g_assert_cmpuint (sizeof input - 1, ==, 39);
  expect_ok (&limits, input, sizeof input - 1);
  limits.max_response = 38;
  expect_limit (&limits, input, sizeof input - 1);
  /* The second literal's end (37) is past the limit, refused when announced. */
  limits.max_response = 36;
  expect_limit (&limits, input, sizeof input - 1);
  /* A line that cannot fit is refused before it ends. */
  limits.max_response = 8;
  expect_limit (&limits, input, sizeof input - 1);

  /* The default leaves room for two literals of max_literal plus a full line. */
  limits.max_response = 0;
  limits.max_literal = 1000;
  big = g_strdup_printf ("* 1 FETCH (BODY[] {1000}\r\n%1000d BODY[TEXT] {1000}\r\n%1000d)\r\n",
                         1, 2);
  expect_ok (&limits, big, strlen (big));
}

static char *
nested (const char *prefix,
        guint       depth,
        const char *suffix)
{
  GString *s = g_string_new (prefix);

  for (guint i = 0; i < depth; i++)
    g_string_append_c (s, '(');
  g_string_append (s, "x");
  for (guint i = 0; i < depth; i++)
    g_string_append_c (s, ')');
  g_string_append (s, suffix);
  return g_string_free (s, FALSE);
}

static void
test_limit_depth (void)
{
  PbImapParserLimits limits = { .max_depth = 4 };
  g_autofree char *at = nested ("* X ", 4, "\r\n");
  g_autofree char *over = nested ("* X ", 5, "\r\n");
  g_autofree char *code_at = nested ("* OK [X ", 4, "] t\r\n");
  g_autofree char *code_over = nested ("* OK [X ", 5, "] t\r\n");
  g_autofree char *def_at = nested ("* X ", 32, "\r\n");
  g_autofree char *def_over = nested ("* X ", 33, "\r\n");
  g_autofree char *deep = nested ("* X ", 10000, "\r\n");
  g_autoptr(GString) unclosed = g_string_new ("* X ");

  expect_ok (&limits, at, strlen (at));
  expect_limit (&limits, over, strlen (over));
  /* A bound hit inside a response code is an error, not a reason for the lenient fallback. */
  expect_ok (&limits, code_at, strlen (code_at));
  expect_limit (&limits, code_over, strlen (code_over));
  expect_ok (NULL, def_at, strlen (def_at));
  expect_limit (NULL, def_over, strlen (def_over));
  expect_limit (NULL, deep, strlen (deep));

  for (guint i = 0; i < 10000; i++)
    g_string_append_c (unclosed, '(');
  g_string_append (unclosed, "\r\n");
  expect_limit (NULL, unclosed->str, unclosed->len);

  /* When the caller allows it, deep nesting works (and frees) without recursion trouble. */
  limits.max_depth = 10000;
  expect_ok (&limits, deep, strlen (deep));
}

static char *
items (const char *prefix,
       guint       n,
       const char *item,
       const char *suffix)
{
  GString *s = g_string_new (prefix);

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (s, ' ');
      g_string_append (s, item);
    }
  g_string_append (s, suffix);
  return g_string_free (s, FALSE);
}

static void
test_limit_items (void)
{
  PbImapParserLimits limits = { .max_items = 5 };
  /* "* X" plus four more values is five top-level items. */
  g_autofree char *top_at = items ("* X ", 4, "a", "\r\n");
  g_autofree char *top_over = items ("* X ", 5, "a", "\r\n");
  g_autofree char *list_at = items ("* X (", 5, "a", ")\r\n");
  g_autofree char *list_over = items ("* X (", 6, "a", ")\r\n");
  g_autofree char *code_at = items ("* OK [X ", 4, "1", "] t\r\n");
  g_autofree char *code_over = items ("* OK [X ", 5, "1", "] t\r\n");
  g_autofree char *empty_lists = items ("* X (", 5, "()", ")\r\n");

  expect_ok (&limits, top_at, strlen (top_at));
  expect_limit (&limits, top_over, strlen (top_over));
  expect_ok (&limits, list_at, strlen (list_at));
  expect_limit (&limits, list_over, strlen (list_over));
  expect_ok (&limits, code_at, strlen (code_at));
  expect_limit (&limits, code_over, strlen (code_over));
  expect_ok (&limits, empty_lists, strlen (empty_lists));
}

/* A million FETCH items in one response (the default max_items), then one more. Quadratic
 * behaviour would take minutes here. */
static void
test_limit_items_million (void)
{
  PbImapParserLimits limits = { .max_line = 64 * 1024 * 1024 };
  g_autofree char *at = items ("* 1 FETCH (", 1000000, "7", ")\r\n");
  g_autofree char *over = items ("* 1 FETCH (", 1000001, "7", ")\r\n");
  g_autoptr(PbImapParser) parser = parser_new (&limits);
  g_autoptr(PbImapResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = strlen (at);
  gdouble elapsed;

  g_test_timer_start ();
  /* Fed in 16 KiB pieces as a socket would deliver it. */
  for (gsize off = 0; off < len; off += 16384)
    {
      pb_imap_parser_feed (parser, (const guint8 *) at + off, MIN (16384, len - off));
      if (off + 16384 < len)
        g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==,
                         PB_IMAP_PARSE_NEED_MORE);
    }
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_no_error (error);
  elapsed = g_test_timer_elapsed ();
  g_test_message ("1,000,000 items parsed in %.3f s", elapsed);
  g_assert_cmpuint (((PbImapValue *) g_ptr_array_index (response->items, 2))->list->len, ==,
                    1000000);
  g_clear_pointer (&response, pb_imap_response_free);

  pb_imap_parser_reset (parser);
  pb_imap_parser_feed (parser, (const guint8 *) over, strlen (over));
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_ERROR);
  g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_LIMIT);
}

/* Zero fields take their defaults, so callers can set only the limit they care about. */
static void
test_limit_zero_means_default (void)
{
  PbImapParserLimits limits = { 0 };
  g_autofree char *at = line_of_length ("* X ", 64 * 1024);
  g_autofree char *over = line_of_length ("* X ", 64 * 1024 + 1);

  expect_ok (&limits, at, strlen (at));
  expect_limit (&limits, over, strlen (over));
}

/* A server that never ends its line: NEED_MORE until the limit, then LIMIT, and the buffered
 * amount never exceeds the limit by more than one read. */
static void
test_endless_line (void)
{
  g_autoptr(PbImapParser) parser = parser_new (NULL);
  g_autoptr(PbImapResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *chunk = g_malloc (4096);
  gsize fed = 0;
  PbImapParseResult result = PB_IMAP_PARSE_NEED_MORE;

  memset (chunk, 'a', 4096);
  pb_imap_parser_feed (parser, (const guint8 *) "* X ", 4);
  fed = 4;
  while (fed < 1024 * 1024)
    {
      pb_imap_parser_feed (parser, chunk, 4096);
      fed += 4096;
      result = pb_imap_parser_next (parser, &response, &error);
      if (result != PB_IMAP_PARSE_NEED_MORE)
        break;
      g_assert_cmpuint (pb_imap_parser_get_pending (parser), <, 64 * 1024);
    }
  g_assert_cmpint (result, ==, PB_IMAP_PARSE_ERROR);
  g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_LIMIT);
  g_assert_cmpuint (fed, <=, 64 * 1024 + 4096);
  g_clear_error (&error);

  /* Whatever else arrives is not kept. */
  for (guint i = 0; i < 64; i++)
    pb_imap_parser_feed (parser, chunk, 4096);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 0);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_ERROR);
  g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_LIMIT);
}

/* Without CRLF the response is not complete, whatever follows. */
static void
test_missing_crlf (void)
{
  g_autoptr(PbImapParser) parser = parser_new (NULL);
  g_autoptr(PbImapResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dump = NULL;

  pb_imap_parser_feed (parser, (const guint8 *) "A1 OK done", 10);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_NEED_MORE);
  pb_imap_parser_feed (parser, (const guint8 *) "* 2 EXISTS", 10);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_NEED_MORE);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 20);
  pb_imap_parser_feed (parser, (const guint8 *) "\r\n", 2);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
  dump = dump_response (response);
  g_assert_cmpstr (dump, ==, "A1 OK \"done* 2 EXISTS\"");
  g_clear_pointer (&response, pb_imap_response_free);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_NEED_MORE);
}

/* Bytes after a STARTTLS go-ahead must be visible to the client, which then refuses them. */
static void
test_pending (void)
{
  static const char input[] = "A2 OK Begin TLS negotiation now.\r\n* OK injected\r\n";
  g_autoptr(PbImapParser) parser = parser_new (NULL);
  g_autoptr(PbImapResponse) response = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 0);
  pb_imap_parser_feed (parser, (const guint8 *) input, sizeof input - 1);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, sizeof input - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_cmpstr (response->tag, ==, "A2");
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, strlen ("* OK injected\r\n"));

  /* A partial response is pending too. */
  pb_imap_parser_reset (parser);
  pb_imap_parser_feed (parser, (const guint8 *) "A2 OK go\r\n*", 11);
  g_clear_pointer (&response, pb_imap_response_free);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 1);
}

/* A 50 MB literal arriving in 16 KiB pieces: each feed must cost only its own bytes. */
static void
test_large_literal_linear (void)
{
  const gsize size = 50 * 1000 * 1000;
  PbImapParserLimits limits = { .max_literal = size };
  g_autoptr(PbImapParser) parser = parser_new (&limits);
  g_autoptr(PbImapResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *head = g_strdup_printf ("* 1 FETCH (UID 7 BODY[] {%" G_GSIZE_FORMAT "}\r\n",
                                           size);
  g_autofree guint8 *chunk = g_malloc (16384);
  PbImapValue *body;
  gsize sent = 0;
  gdouble elapsed;

  for (gsize i = 0; i < 16384; i++)
    chunk[i] = "\r\n\0x)("[i % 6];

  g_test_timer_start ();
  pb_imap_parser_feed (parser, (const guint8 *) head, strlen (head));
  while (sent < size)
    {
      gsize n = MIN (16384, size - sent);

      g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==,
                       PB_IMAP_PARSE_NEED_MORE);
      pb_imap_parser_feed (parser, chunk, n);
      sent += n;
    }
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_NEED_MORE);
  pb_imap_parser_feed (parser, (const guint8 *) " FLAGS (\\Seen))\r\n* 2 EXISTS\r\n", 29);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_no_error (error);
  elapsed = g_test_timer_elapsed ();
  g_test_message ("50 MB literal in 16 KiB pieces parsed in %.3f s", elapsed);

  /* Larger than the default spill threshold: the bytes are in a file, not in str. */
  body = g_ptr_array_index (((PbImapValue *) g_ptr_array_index (response->items, 2))->list, 3);
  g_assert_cmpint (body->type, ==, PB_IMAP_VALUE_STRING);
  g_assert_cmpuint (body->len, ==, size);
  g_assert_null (body->str);
  g_assert_cmpuint (g_bytes_get_size (pb_imap_value_get_bytes (body)), ==, size);
  g_assert_cmpmem (g_bytes_get_data (pb_imap_value_get_bytes (body), NULL), 6, "\r\n\0x)(", 6);
  g_assert_cmpuint (pb_imap_parser_get_buffer_size (parser), <=, 64 * 1024);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 12);
  g_clear_pointer (&response, pb_imap_response_free);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
}

/* Many small responses in one buffer, taken out one by one while more keeps arriving: the
 * consumed bytes must not be moved around for every response. */
static void
test_many_responses (void)
{
  const guint n = 200000;
  g_autoptr(PbImapParser) parser = parser_new (NULL);
  g_autoptr(GString) input = g_string_new (NULL);
  guint count = 0;
  gdouble elapsed;

  for (guint i = 0; i < n; i++)
    g_string_append_printf (input, "* %u FETCH (UID %u FLAGS (\\Seen))\r\n", i + 1, i + 100);

  g_test_timer_start ();
  pb_imap_parser_feed (parser, (const guint8 *) input->str, input->len);
  for (;;)
    {
      g_autoptr(PbImapResponse) response = NULL;
      g_autoptr(GError) error = NULL;
      PbImapParseResult result = pb_imap_parser_next (parser, &response, &error);

      g_assert_no_error (error);
      if (result == PB_IMAP_PARSE_NEED_MORE)
        break;
      g_assert_cmpuint (((PbImapValue *) g_ptr_array_index (response->items, 0))->number, ==,
                        count + 1);
      count++;
    }
  elapsed = g_test_timer_elapsed ();
  g_test_message ("%u responses in %.3f s", count, elapsed);
  g_assert_cmpuint (count, ==, n);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 0);

  /* Same again with one byte fed after every response taken out, so a large unconsumed
   * remainder sits in the buffer at every feed: the worst case for compaction. */
  {
    g_autoptr(GString) tail = g_string_new (NULL);
    guint got = 0;

    pb_imap_parser_feed (parser, (const guint8 *) input->str, input->len);
    for (guint i = 0; i < n; i++)
      g_string_append (tail, "* 1 EXPUNGE\r\n");
    g_test_timer_start ();
    for (gsize off = 0;;)
      {
        g_autoptr(PbImapResponse) response = NULL;
        PbImapParseResult result = pb_imap_parser_next (parser, &response, NULL);

        if (result == PB_IMAP_PARSE_OK)
          got++;
        else if (off >= tail->len)
          break;
        if (off < tail->len)
          pb_imap_parser_feed (parser, (const guint8 *) tail->str + off++, 1);
      }
    g_test_message ("%u interleaved responses in %.3f s", got, g_test_timer_elapsed ());
    g_assert_cmpuint (got, ==, 2 * n);
  }
}

/* Spilling large literals to disk */

static guint
count_open_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  if (dir == NULL)
    return 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static gboolean
dir_is_empty (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);

  g_assert_nonnull (dir);
  return g_dir_read_name (dir) == NULL;
}

/* Random bytes with CRLF, NUL, "{5}" CRLF and response-like lines sprinkled in, so that a
 * framing that looked at literal bytes would go wrong. */
static guint8 *
random_literal (gsize size)
{
  static const char *const noise[] = {
    "\r\n", "\0", "{5}\r\n", "* 1 EXISTS\r\n", "A1 OK done\r\n", ")", "(", "\"", "~{3}\r\n",
  };
  guint8 *data = g_malloc (size);
  gsize i = 0;

  while (i < size)
    {
      if (g_test_rand_int_range (0, 8) == 0)
        {
          const char *piece = noise[g_test_rand_int_range (0, G_N_ELEMENTS (noise))];
          gsize n = MIN (MAX (strlen (piece), 1), size - i);

          memcpy (data + i, piece, n);
          i += n;
        }
      else
        {
          guint32 r = g_test_rand_int ();
          gsize n = MIN (sizeof r, size - i);

          memcpy (data + i, &r, n);
          i += n;
        }
    }
  return data;
}

/* Feeds @input in random pieces of 1 to @max_chunk bytes, taking responses out as they
 * complete, and returns them. */
static GPtrArray *
feed_randomly (PbImapParser *parser,
               const guint8 *input,
               gsize         len,
               gsize         max_chunk,
               gsize        *out_peak)
{
  GPtrArray *responses = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_imap_response_free);
  gsize off = 0;

  *out_peak = 0;
  while (off < len)
    {
      gsize n = g_test_rand_int_range (1, max_chunk + 1);
      PbImapResponse *response = NULL;
      g_autoptr(GError) error = NULL;

      n = MIN (n, len - off);
      pb_imap_parser_feed (parser, input + off, n);
      off += n;
      *out_peak = MAX (*out_peak, pb_imap_parser_get_buffer_size (parser));
      while (pb_imap_parser_next (parser, &response, &error) == PB_IMAP_PARSE_OK)
        g_ptr_array_add (responses, response);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 0);
  return responses;
}

static PbImapValue *
fetch_item (PbImapResponse *response,
            guint           index)
{
  PbImapValue *list = g_ptr_array_index (response->items, 2);

  g_assert_cmpint (list->type, ==, PB_IMAP_VALUE_LIST);
  g_assert_cmpuint (index, <, list->list->len);
  return g_ptr_array_index (list->list, index);
}

/* A 5 MiB message in random small pieces: it goes to disk as it arrives, the parser's own
 * memory stays at a few KiB, and the value holds exactly the bytes sent. */
static void
test_spill_large (void)
{
  const gsize size = 5 * 1024 * 1024;
  PbImapParserLimits limits = { .spill_threshold = 64 * 1024 };
  g_autoptr(PbImapParser) parser = parser_new (&limits);
  g_autoptr(GPtrArray) responses = NULL;
  PbImapResponse *response;
  g_autoptr(GBytes) kept = NULL;
  g_autofree guint8 *literal = random_literal (size);
  g_autofree char *head = g_strdup_printf ("* 1 FETCH (UID 7 BODY[] {%" G_GSIZE_FORMAT "}\r\n",
                                           size);
  static const char tail[] = " FLAGS (\\Seen))\r\n";
  g_autoptr(GByteArray) input = g_byte_array_new ();
  guint fds = count_open_fds ();
  PbImapValue *body;
  gsize peak;

  g_byte_array_append (input, (const guint8 *) head, strlen (head));
  g_byte_array_append (input, literal, size);
  g_byte_array_append (input, (const guint8 *) tail, sizeof tail - 1);

  responses = feed_randomly (parser, input->data, input->len, 4096, &peak);
  g_assert_cmpuint (responses->len, ==, 1);
  response = g_ptr_array_index (responses, 0);
  g_test_message ("peak parser buffer for a 5 MiB literal: %" G_GSIZE_FORMAT " bytes", peak);
  g_assert_cmpuint (peak, <=, 32 * 1024);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 0);
  /* The file had no name at any time, and it is closed once mapped. */
  g_assert_true (dir_is_empty (spill_dir));
  g_assert_cmpuint (count_open_fds (), ==, fds);

  g_assert_true (pb_imap_value_is_atom (fetch_item (response, 2), "BODY[]"));
  body = fetch_item (response, 3);
  g_assert_cmpint (body->type, ==, PB_IMAP_VALUE_STRING);
  g_assert_null (body->str);
  g_assert_null (pb_imap_value_get_string (body));
  g_assert_cmpuint (body->len, ==, size);
  g_assert_true (pb_imap_value_is_atom (fetch_item (response, 4), "FLAGS"));

  /* The bytes may outlive the response. */
  kept = g_bytes_ref (pb_imap_value_get_bytes (body));
  g_clear_pointer (&responses, g_ptr_array_unref);
  g_assert_cmpmem (g_bytes_get_data (kept, NULL), g_bytes_get_size (kept), literal, size);
}

/* Several literals in one FETCH, some above the threshold and some not, then another response:
 * the same dumps as with everything in memory, however the bytes are split. */
static void
test_spill_multiple (void)
{
  static const gsize sizes[] = { 100000, 3000, 200001, 0, 70000 };
  PbImapParserLimits spilling = { .spill_threshold = 64 * 1024 };
  PbImapParserLimits in_memory = { .spill_threshold = G_MAXSIZE };
  static const gsize irregular[] = { 4096, 1, 65536, 17, 300000 };
  g_autoptr(GByteArray) input = g_byte_array_new ();
  g_autoptr(PbImapParser) parser = NULL;
  g_autoptr(GPtrArray) responses = NULL;
  PbImapResponse *response;
  g_autofree char *expected = NULL;
  g_autofree char *got = NULL;
  guint8 *literals[G_N_ELEMENTS (sizes)];
  Outcome reference, other;
  gsize peak;

#define APPEND(s) g_byte_array_append (input, (const guint8 *) (s), strlen (s))
#define APPEND_LITERAL(i) \
  G_STMT_START { \
    g_autofree char *size_ = g_strdup_printf ("{%" G_GSIZE_FORMAT "}\r\n", sizes[i]); \
    APPEND (size_); \
    g_byte_array_append (input, literals[i], sizes[i]); \
  } G_STMT_END

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    literals[i] = random_literal (sizes[i]);

  APPEND ("* 3 FETCH (UID 9 BODY[] ");
  APPEND_LITERAL (0);
  APPEND (" BODY[HEADER] ");
  APPEND_LITERAL (1);
  APPEND (" BINARY[1] ~");
  APPEND_LITERAL (2);
  APPEND (" BODY[TEXT] ");
  APPEND_LITERAL (3);
  APPEND (")\r\n* 4 FETCH (BODY[] ");
  APPEND_LITERAL (4);
  APPEND (")\r\nA5 OK done\r\n");
#undef APPEND_LITERAL
#undef APPEND

  reference = parse_whole (&in_memory, input->data, input->len);
  g_assert_false (reference.failed);
  g_assert_cmpuint (reference.dumps->len, ==, 3);
  expected = outcome_join (&reference);
  outcome_clear (&reference);

  other = parse_whole (&spilling, input->data, input->len);
  got = outcome_join (&other);
  g_assert_cmpstr (got, ==, expected);
  outcome_clear (&other);
  g_clear_pointer (&got, g_free);

  other = parse_chunked (&spilling, input->data, input->len, irregular, G_N_ELEMENTS (irregular));
  got = outcome_join (&other);
  g_assert_cmpstr (got, ==, expected);
  outcome_clear (&other);
  g_clear_pointer (&got, g_free);

  /* Which ones went to disk, and their bytes. */
  parser = parser_new (&spilling);
  responses = feed_randomly (parser, input->data, input->len, 8192, &peak);
  g_assert_cmpuint (peak, <=, 32 * 1024);
  g_assert_cmpuint (responses->len, ==, 3);
  response = g_ptr_array_index (responses, 0);
  for (guint i = 0; i < 4; i++)
    {
      PbImapValue *value = fetch_item (response, 3 + 2 * i);
      GBytes *bytes = pb_imap_value_get_bytes (value);

      g_assert_cmpint (value->type, ==, PB_IMAP_VALUE_STRING);
      g_assert_cmpuint (value->len, ==, sizes[i]);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                       literals[i], sizes[i]);
      if (sizes[i] > spilling.spill_threshold)
        g_assert_null (value->str);
      else
        g_assert_nonnull (value->str);
    }
  response = g_ptr_array_index (responses, 1);
  g_assert_null (fetch_item (response, 1)->str);
  g_assert_cmpmem (g_bytes_get_data (pb_imap_value_get_bytes (fetch_item (response, 1)), NULL),
                   fetch_item (response, 1)->len, literals[4], sizes[4]);
  response = g_ptr_array_index (responses, 2);
  g_assert_cmpstr (response->tag, ==, "A5");

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    g_free (literals[i]);
}

/* A literal of exactly the threshold stays in memory; one byte more goes to disk. */
static void
test_spill_threshold (void)
{
  PbImapParserLimits limits = { .spill_threshold = 10 };
  static const char at[] = "* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n";
  static const char over[] = "* 1 FETCH (BODY[] {11}\r\n0123456789a)\r\n";
  g_autoptr(PbImapParser) parser = parser_new (&limits);
  g_autoptr(PbImapResponse) response = NULL;
  g_autoptr(GError) error = NULL;

  pb_imap_parser_feed (parser, (const guint8 *) at, sizeof at - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_cmpstr (fetch_item (response, 1)->str, ==, "0123456789");
  g_clear_pointer (&response, pb_imap_response_free);

  pb_imap_parser_feed (parser, (const guint8 *) over, sizeof over - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_null (fetch_item (response, 1)->str);
  g_assert_cmpuint (fetch_item (response, 1)->len, ==, 11);
  g_assert_cmpmem (g_bytes_get_data (pb_imap_value_get_bytes (fetch_item (response, 1)), NULL),
                   11, "0123456789a", 11);
  g_clear_pointer (&response, pb_imap_response_free);

  /* Quoted strings have bytes too, and non-strings have none. */
  pb_imap_parser_feed (parser, (const guint8 *) "* 1 FETCH (X \"a\\\"b\" Y NIL)\r\n", 28);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (pb_imap_value_get_bytes (fetch_item (response, 1)), NULL),
                   3, "a\"b", 3);
  g_assert_null (pb_imap_value_get_bytes (fetch_item (response, 0)));
  g_assert_null (pb_imap_value_get_bytes (fetch_item (response, 3)));
  g_assert_null (pb_imap_value_get_bytes (g_ptr_array_index (response->items, 0)));
  g_assert_null (pb_imap_value_get_bytes (NULL));
}

/* A spill directory that cannot take the file: the responses before the literal still come
 * out, then a clear PB_IMAP_ERROR_FAILED that sticks until reset. */
static void
check_bad_spill_dir (const char *dir)
{
  static const char input[] = "* 1 EXISTS\r\n* 2 FETCH (BODY[] {20}\r\n01234567890123456789)\r\n"
                              "* 3 EXISTS\r\n";
  PbImapParserLimits limits = { .spill_threshold = 10 };
  g_autoptr(PbImapParser) parser = parser_new (&limits);
  g_autoptr(PbImapResponse) response = NULL;
  g_autoptr(GError) error = NULL;
  guint fds = count_open_fds ();

  g_test_message ("spill directory %s", dir);
  pb_imap_parser_set_spill_dir (parser, dir);
  pb_imap_parser_feed (parser, (const guint8 *) input, sizeof input - 1);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
  g_assert_cmpuint (((PbImapValue *) g_ptr_array_index (response->items, 0))->number, ==, 1);
  g_clear_pointer (&response, pb_imap_response_free);

  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_ERROR);
  g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "Cannot store a large message in "));
  g_assert_nonnull (strstr (error->message, dir));
  g_clear_error (&error);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 0);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_ERROR);
  g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_cmpuint (count_open_fds (), ==, fds);

  /* With a usable directory the same bytes parse. */
  pb_imap_parser_reset (parser);
  pb_imap_parser_set_spill_dir (parser, spill_dir);
  pb_imap_parser_feed (parser, (const guint8 *) input, sizeof input - 1);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==, PB_IMAP_PARSE_OK);
      g_clear_pointer (&response, pb_imap_response_free);
    }
  g_assert_no_error (error);
}

static void
test_spill_bad_dir (void)
{
  g_autofree char *missing = g_build_filename (spill_dir, "missing", "deeper", NULL);
  g_autofree char *file = g_build_filename (spill_dir, "a-file", NULL);
  g_autofree char *read_only = g_build_filename (spill_dir, "read-only", NULL);
  g_autofree char *probe = g_build_filename (read_only, "probe", NULL);
  g_autoptr(GError) error = NULL;

  check_bad_spill_dir (missing);

  g_file_set_contents (file, "x", 1, &error);
  g_assert_no_error (error);
  check_bad_spill_dir (file);
  g_assert_no_errno (g_unlink (file));

  /* Permissions do not stop root, so a read-only directory is only tried when it is one;
   * sysfs refuses new files to everybody. */
  g_assert_no_errno (g_mkdir (read_only, 0555));
  if (!g_file_set_contents (probe, "x", 1, NULL))
    check_bad_spill_dir (read_only);
  else
    g_test_message ("running as root: mode 0555 does not make a directory read-only");
  g_unlink (probe);
  g_assert_no_errno (g_rmdir (read_only));
  if (g_file_test ("/sys/kernel", G_FILE_TEST_IS_DIR))
    check_bad_spill_dir ("/sys/kernel");
}

/* A write that fails half-way (here: the file size limit, EFBIG) is an error too, and the
 * partial file goes away. Run in a subprocess because of the limit. */
static void
test_spill_write_failure (void)
{
  if (g_test_subprocess ())
    {
      const gsize size = 200000;
      PbImapParserLimits limits = { .spill_threshold = 1000 };
      g_autoptr(PbImapParser) parser = parser_new (&limits);
      g_autoptr(PbImapResponse) response = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree guint8 *literal = random_literal (size);
      g_autofree char *head = g_strdup_printf ("* 1 FETCH (BODY[] {%" G_GSIZE_FORMAT "}\r\n",
                                               size);
      struct rlimit limit;
      guint fds = count_open_fds ();

      signal (SIGXFSZ, SIG_IGN);
      g_assert_no_errno (getrlimit (RLIMIT_FSIZE, &limit));
      limit.rlim_cur = 64 * 1024;
      g_assert_no_errno (setrlimit (RLIMIT_FSIZE, &limit));

      pb_imap_parser_feed (parser, (const guint8 *) head, strlen (head));
      for (gsize off = 0; off < size; off += 4096)
        pb_imap_parser_feed (parser, literal + off, MIN (4096, size - off));
      pb_imap_parser_feed (parser, (const guint8 *) ")\r\n", 3);
      g_assert_cmpint (pb_imap_parser_next (parser, &response, &error), ==,
                       PB_IMAP_PARSE_ERROR);
      g_assert_error (error, PB_IMAP_ERROR, PB_IMAP_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, g_strerror (EFBIG)));
      {
        g_autofree char *size_text = g_format_size (size);

        g_assert_true (g_str_has_prefix (error->message, "Cannot store a large message in "));
        g_assert_nonnull (strstr (error->message, size_text));
      }
      g_assert_cmpuint (count_open_fds (), ==, fds);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* Reset and free in the middle of a spilled literal close its file. */
static void
test_spill_interrupted (void)
{
  static const char head[] = "* 1 FETCH (BODY[] {100000}\r\n";
  PbImapParserLimits limits = { .spill_threshold = 1000 };
  g_autofree guint8 *half = random_literal (50000);
  PbImapParser *parser = parser_new (&limits);
  g_autoptr(PbImapResponse) response = NULL;
  guint fds = count_open_fds ();

  pb_imap_parser_feed (parser, (const guint8 *) head, sizeof head - 1);
  pb_imap_parser_feed (parser, half, 50000);
  g_assert_cmpuint (count_open_fds (), ==, fds + 1);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, sizeof head - 1 + 50000);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, NULL), ==, PB_IMAP_PARSE_NEED_MORE);
  pb_imap_parser_reset (parser);
  g_assert_cmpuint (count_open_fds (), ==, fds);
  g_assert_cmpuint (pb_imap_parser_get_pending (parser), ==, 0);

  pb_imap_parser_feed (parser, (const guint8 *) "* 2 EXISTS\r\n", 12);
  g_assert_cmpint (pb_imap_parser_next (parser, &response, NULL), ==, PB_IMAP_PARSE_OK);

  pb_imap_parser_feed (parser, (const guint8 *) head, sizeof head - 1);
  pb_imap_parser_feed (parser, half, 50000);
  g_assert_cmpuint (count_open_fds (), ==, fds + 1);
  pb_imap_parser_free (parser);
  g_assert_cmpuint (count_open_fds (), ==, fds);
}

/* Recorded server traces */

typedef struct {
  const char *file;
  guint       count;
  gboolean    every_split;
} TraceCase;

static const TraceCase trace_cases[] = {
  { "dovecot-2.3.trace", 59, FALSE },
  { "gmail.trace", 40, TRUE },
  { "cyrus.trace", 50, FALSE },
  { "exchange.trace", 38, TRUE },
  { "short-mixed.trace", 6, TRUE },
};

static char *
trace_path (const char *name)
{
  const char *srcdir = g_getenv ("PB_TEST_SRCDIR");
  g_autofree char *here = NULL;

  if (srcdir != NULL)
    return g_build_filename (srcdir, "data", "imap", name, NULL);

  /* Run by hand from the build directory: __FILE__ is relative to it. */
  here = g_path_get_dirname (__FILE__);
  return g_build_filename (here, "..", "data", "imap", name, NULL);
}

static GBytes *
load_trace (const char *name)
{
  g_autofree char *path = trace_path (name);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

static void
test_trace (gconstpointer data)
{
  const TraceCase *tc = data;
  g_autoptr(GBytes) bytes = load_trace (tc->file);
  gsize len;
  const guint8 *trace = g_bytes_get_data (bytes, &len);
  Outcome outcome = parse_every_way (NULL, trace, len, tc->every_split);

  if (outcome.failed)
    g_error ("%s: %s", tc->file,
             (char *) g_ptr_array_index (outcome.dumps, outcome.dumps->len - 1));
  g_assert_cmpuint (outcome.dumps->len, ==, tc->count);
  for (guint i = 0; i < outcome.dumps->len; i++)
    g_test_message ("%s", (char *) g_ptr_array_index (outcome.dumps, i));
  outcome_clear (&outcome);
}

/* Spot checks of what came out of the traces. */
static void
test_trace_content (void)
{
  g_autoptr(GBytes) bytes = load_trace ("dovecot-2.3.trace");
  gsize len;
  const guint8 *trace = g_bytes_get_data (bytes, &len);
  Outcome outcome = parse_whole (NULL, trace, len);
  g_autofree char *all = outcome_join (&outcome);

  g_assert_false (outcome.failed);
  g_assert_cmpstr (g_ptr_array_index (outcome.dumps, 0), ==,
                   "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
                   "STARTTLS AUTH=PLAIN] \"Dovecot (Debian) ready.\"");
  g_assert_nonnull (strstr (all, "* LIST (\\HasNoChildren \\UnMarked) \"/\" "
                                 "\"Quotes \\\"and\\\" \\\\backslash\"\n"));
  g_assert_nonnull (strstr (all, "* LIST (\\HasNoChildren \\UnMarked) \"/\" #2023\n"));
  g_assert_nonnull (strstr (all, "* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\n"));
  g_assert_nonnull (strstr (all, "BINARY[2] \"\\x00\\x01\\x02"));
  g_assert_nonnull (strstr (all, "\\xfe\\xff\\x00\\r\\n\\x00\" BINARY.SIZE[2] #260)\n"));
  g_assert_nonnull (strstr (all, "\nA0018 NO [BADCHARSET (UTF-8 US-ASCII)] "
                                 "\"Unsupported charset\"\n"));
  /* Text inside a literal that looks like responses stays inside the literal. */
  g_assert_nonnull (strstr (all, "{3}\\r\\n* 4 EXISTS\\r\\nA0012 OK not really\\r\\n"));
  g_assert_cmpstr (g_ptr_array_index (outcome.dumps, outcome.dumps->len - 1), ==,
                   "A0020 OK \"Logout completed (0.001 + 0.000 secs).\"");
  outcome_clear (&outcome);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int result;

  g_test_init (&argc, &argv, NULL);

  spill_dir = g_dir_make_tmp ("pb-test-imap-parser-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/imap/parser/shapes", test_shapes);
  g_test_add_func ("/imap/parser/fields", test_fields);
  g_test_add_func ("/imap/parser/errors", test_errors);
  g_test_add_func ("/imap/parser/error-message", test_error_message);
  g_test_add_func ("/imap/parser/error-sticky", test_error_sticky);
  g_test_add_func ("/imap/parser/limit/line", test_limit_line);
  g_test_add_func ("/imap/parser/limit/literal", test_limit_literal);
  g_test_add_func ("/imap/parser/limit/response", test_limit_response);
  g_test_add_func ("/imap/parser/limit/depth", test_limit_depth);
  g_test_add_func ("/imap/parser/limit/items", test_limit_items);
  g_test_add_func ("/imap/parser/limit/items-million", test_limit_items_million);
  g_test_add_func ("/imap/parser/limit/zero-means-default", test_limit_zero_means_default);
  g_test_add_func ("/imap/parser/endless-line", test_endless_line);
  g_test_add_func ("/imap/parser/missing-crlf", test_missing_crlf);
  g_test_add_func ("/imap/parser/pending", test_pending);
  g_test_add_func ("/imap/parser/large-literal-linear", test_large_literal_linear);
  g_test_add_func ("/imap/parser/many-responses", test_many_responses);
  g_test_add_func ("/imap/parser/spill/large", test_spill_large);
  g_test_add_func ("/imap/parser/spill/multiple", test_spill_multiple);
  g_test_add_func ("/imap/parser/spill/threshold", test_spill_threshold);
  g_test_add_func ("/imap/parser/spill/bad-dir", test_spill_bad_dir);
  g_test_add_func ("/imap/parser/spill/write-failure", test_spill_write_failure);
  g_test_add_func ("/imap/parser/spill/interrupted", test_spill_interrupted);
  for (guint i = 0; i < G_N_ELEMENTS (trace_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/imap/parser/trace/%s", trace_cases[i].file);

      g_test_add_data_func (path, &trace_cases[i], test_trace);
    }
  g_test_add_func ("/imap/parser/trace-content", test_trace_content);

  result = g_test_run ();

  /* No spill file ever had a name that could be left behind. */
  if (!dir_is_empty (spill_dir))
    g_error ("%s is not empty", spill_dir);
  g_rmdir (spill_dir);
  g_free (spill_dir);
  return result;
}
