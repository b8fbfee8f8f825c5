/*
 * ldload: a pipelined LDAP load generator on libldap's asynchronous API, built by the benchmark with
 *   cc -O2 -o ldload ldload.c -lldap -llber
 * One thread, poll() over C connections; each search connection keeps K requests outstanding, so
 * the client spends a few microseconds per operation and the server under test is the bottleneck.
 *
 * Modes:
 *   search  Postfix virtual-alias lookups: (|(mailLocalAddress=%s)(mailAlias=%s)) -> mailRoutingAddress,
 *           addresses from a TSV file "address<TAB>expected routing address"; an answer must be exactly one
 *           entry carrying exactly the expected value, anything else is a failure.
 *   bind    simple binds from a TSV file "DN<TAB>password"; must succeed (resultCode 0). A bind is never
 *           pipelined (RFC 4511 4.2.1: nothing else may be sent while a bind is in progress), so bind
 *           connections run with one outstanding request.
 *   mixed   -c connections for searches (K outstanding each) plus -C connections doing binds, at once:
 *           what a mail host does (Postfix lookups while Dovecot authenticates).
 * Output: one JSON object on stdout with ops/s, p50/p99 latency (microseconds) and failures per kind.
 */
#define _GNU_SOURCE
#define LDAP_DEPRECATED 0
#include <errno.h>
#include <ldap.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum kind { KIND_SEARCH = 0, KIND_BIND = 1 };
static const char *KIND_NAMES[] = {"search", "bind"};

typedef struct {
  char *key;      /* address, or bind DN */
  char *expected; /* routing address, or password */
} pair_t;

typedef struct {
  int msgid; /* 0: free */
  double started;
  int item;
} slot_t;

typedef struct {
  LDAP *ld;
  int fd;
  enum kind kind;
  int depth;
  slot_t *slots;
  uint64_t rng;
} conn_t;

typedef struct {
  uint64_t ops, failures, errors;
  uint32_t *latencies_us; /* measured operations only */
  size_t count, capacity;
  char first_failure[512];
} stats_t;

static pair_t *searches, *binds;
static size_t search_count, bind_count;
static const char *base = "o=ispman";
static stats_t stats[2];
static double measure_from, measure_until;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t next_random(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

static pair_t *load_pairs(const char *file, size_t *count) {
  FILE *in = fopen(file, "r");
  if (!in) {
    fprintf(stderr, "ldload: cannot open %s: %s\n", file, strerror(errno));
    exit(2);
  }
  size_t capacity = 1024, n = 0;
  pair_t *pairs = malloc(capacity * sizeof *pairs);
  char *line = NULL;
  size_t length = 0;
  while (getline(&line, &length, in) > 0) {
    line[strcspn(line, "\r\n")] = 0;
    char *tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = 0;
    if (n == capacity) pairs = realloc(pairs, (capacity *= 2) * sizeof *pairs);
    pairs[n].key = strdup(line);
    pairs[n].expected = strdup(tab + 1);
    n++;
  }
  free(line);
  fclose(in);
  if (n == 0) {
    fprintf(stderr, "ldload: %s has no TAB-separated lines\n", file);
    exit(2);
  }
  *count = n;
  return pairs;
}

static void fail(enum kind kind, const char *format, const char *a, const char *b) {
  stats_t *s = &stats[kind];
  s->failures++;
  if (!s->first_failure[0]) snprintf(s->first_failure, sizeof s->first_failure, format, a, b);
}

static void record(enum kind kind, double started, double finished) {
  if (started < measure_from || finished > measure_until) return;
  stats_t *s = &stats[kind];
  s->ops++;
  if (s->count == s->capacity) {
    s->capacity = s->capacity ? s->capacity * 2 : 1 << 16;
    s->latencies_us = realloc(s->latencies_us, s->capacity * sizeof *s->latencies_us);
  }
  double us = (finished - started) * 1e6;
  s->latencies_us[s->count++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

static int send_one(conn_t *c, slot_t *slot) {
  int msgid = 0, rc;
  if (c->kind == KIND_SEARCH) {
    int item = next_random(&c->rng) % search_count;
    char filter[600];
    snprintf(filter, sizeof filter, "(|(mailLocalAddress=%s)(mailAlias=%s))", searches[item].key, searches[item].key);
    char *attrs[] = {"mailRoutingAddress", NULL};
    slot->item = item;
    slot->started = now();
    rc = ldap_search_ext(c->ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, NULL, 0, &msgid);
  } else {
    int item = next_random(&c->rng) % bind_count;
    struct berval cred = {strlen(binds[item].expected), binds[item].expected};
    slot->item = item;
    slot->started = now();
    rc = ldap_sasl_bind(c->ld, binds[item].key, LDAP_SASL_SIMPLE, &cred, NULL, NULL, &msgid);
  }
  if (rc != LDAP_SUCCESS) {
    fprintf(stderr, "ldload: send failed: %s\n", ldap_err2string(rc));
    return -1;
  }
  slot->msgid = msgid;
  return 0;
}

static void check_search(conn_t *c, LDAPMessage *res, slot_t *slot) {
  const pair_t *query = &searches[slot->item];
  int entries = 0, matched = 0, result = -1;
  for (LDAPMessage *m = ldap_first_message(c->ld, res); m; m = ldap_next_message(c->ld, m)) {
    int type = ldap_msgtype(m);
    if (type == LDAP_RES_SEARCH_ENTRY) {
      entries++;
      struct berval **values = ldap_get_values_len(c->ld, m, "mailRoutingAddress");
      int n = values ? ldap_count_values_len(values) : 0;
      if (n == 1 && values[0]->bv_len == strlen(query->expected) &&
          strncasecmp(values[0]->bv_val, query->expected, values[0]->bv_len) == 0)
        matched = 1;
      if (values) ldap_value_free_len(values);
    } else if (type == LDAP_RES_SEARCH_RESULT) {
      ldap_parse_result(c->ld, m, &result, NULL, NULL, NULL, NULL, 0);
    }
  }
  if (result != LDAP_SUCCESS) {
    char code[32];
    snprintf(code, sizeof code, "%d", result);
    fail(KIND_SEARCH, "search %s: resultCode %s", query->key, code);
  } else if (entries != 1 || !matched) {
    fail(KIND_SEARCH, "search %s: wrong answer (expected exactly one entry with mailRoutingAddress %s)", query->key, query->expected);
  }
}

static void check_bind(conn_t *c, LDAPMessage *res, slot_t *slot) {
  int result = -1;
  ldap_parse_result(c->ld, res, &result, NULL, NULL, NULL, NULL, 0);
  if (result != LDAP_SUCCESS) fail(KIND_BIND, "bind %s: %s", binds[slot->item].key, ldap_err2string(result));
}

static conn_t *open_connections(const char *uri, int count, enum kind kind, int depth, uint64_t seed, conn_t *conns) {
  for (int i = 0; i < count; i++) {
    conn_t *c = &conns[i];
    c->kind = kind;
    c->depth = depth;
    c->rng = seed * 0x9E3779B97F4A7C15ull + i * 7919 + kind * 104729 + 1;
    c->slots = calloc(depth, sizeof *c->slots);
    int version = LDAP_VERSION3, rc = ldap_initialize(&c->ld, uri);
    if (rc != LDAP_SUCCESS) {
      fprintf(stderr, "ldload: ldap_initialize %s: %s\n", uri, ldap_err2string(rc));
      exit(1);
    }
    ldap_set_option(c->ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    struct berval empty = {0, ""};
    rc = ldap_sasl_bind_s(c->ld, NULL, LDAP_SASL_SIMPLE, &empty, NULL, NULL, NULL); /* anonymous, like Postfix */
    if (rc != LDAP_SUCCESS) {
      fprintf(stderr, "ldload: anonymous bind to %s: %s\n", uri, ldap_err2string(rc));
      exit(1);
    }
    ldap_get_option(c->ld, LDAP_OPT_DESC, &c->fd);
  }
  return conns;
}

static int compare_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void print_stats(const char *name, stats_t *s, double seconds, int comma) {
  double p50 = 0, p99 = 0, max = 0;
  if (s->count) {
    qsort(s->latencies_us, s->count, sizeof *s->latencies_us, compare_u32);
    p50 = s->latencies_us[(size_t)(s->count * 0.50)];
    p99 = s->latencies_us[(size_t)(s->count * 0.99)];
    max = s->latencies_us[s->count - 1];
  }
  printf("\"%s\":{\"ops\":%llu,\"opsPerSec\":%.1f,\"p50Us\":%.0f,\"p99Us\":%.0f,\"maxUs\":%.0f,\"failures\":%llu,\"firstFailure\":\"",
         name, (unsigned long long)s->ops, s->ops / seconds, p50, p99, max, (unsigned long long)s->failures);
  for (const char *p = s->first_failure; *p; p++) {
    if (*p == '"' || *p == '\\') putchar('\\');
    putchar(*p);
  }
  printf("\"}%s", comma ? "," : "");
}

static void usage(void) {
  fprintf(stderr,
          "usage: ldload -H ldap://host:port -m search|bind|mixed [-c conns] [-k outstanding] [-C bindconns]\n"
          "              [-d seconds] [-w warmup-seconds] [-q postfix.tsv] [-b binds.tsv] [-B base] [-s seed]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *uri = NULL, *mode = "search", *search_file = NULL, *bind_file = NULL;
  int conns = 1, depth = 1, bind_conns = 0, opt;
  double duration = 10, warmup = 2;
  uint64_t seed = 1;
  while ((opt = getopt(argc, argv, "H:m:c:k:C:d:w:q:b:B:s:")) != -1) {
    switch (opt) {
      case 'H': uri = optarg; break;
      case 'm': mode = optarg; break;
      case 'c': conns = atoi(optarg); break;
      case 'k': depth = atoi(optarg); break;
      case 'C': bind_conns = atoi(optarg); break;
      case 'd': duration = atof(optarg); break;
      case 'w': warmup = atof(optarg); break;
      case 'q': search_file = optarg; break;
      case 'b': bind_file = optarg; break;
      case 'B': base = optarg; break;
      case 's': seed = strtoull(optarg, NULL, 10); break;
      default: usage();
    }
  }
  if (!uri) usage();
  int search_conns = 0;
  if (!strcmp(mode, "search")) {
    search_conns = conns;
    bind_conns = 0;
  } else if (!strcmp(mode, "bind")) {
    bind_conns = conns;
  } else if (!strcmp(mode, "mixed")) {
    search_conns = conns;
    if (bind_conns <= 0) bind_conns = conns;
  } else {
    usage();
  }
  if (search_conns && !search_file) usage();
  if (bind_conns && !bind_file) usage();
  if (search_conns) searches = load_pairs(search_file, &search_count);
  if (bind_conns) binds = load_pairs(bind_file, &bind_count);

  int total = search_conns + bind_conns;
  conn_t *all = calloc(total, sizeof *all);
  open_connections(uri, search_conns, KIND_SEARCH, depth, seed, all);
  open_connections(uri, bind_conns, KIND_BIND, 1, seed, all + search_conns);
  struct pollfd *fds = calloc(total, sizeof *fds);

  double start = now();
  measure_from = start + warmup;
  measure_until = measure_from + duration;
  for (int i = 0; i < total; i++) {
    fds[i].fd = all[i].fd;
    fds[i].events = POLLIN;
    for (int s = 0; s < all[i].depth; s++)
      if (send_one(&all[i], &all[i].slots[s]) != 0) exit(1);
  }
  struct timeval zero = {0, 0};
  for (;;) {
    double t = now();
    if (t >= measure_until) break;
    int ready = poll(fds, total, 100);
    if (ready < 0 && errno != EINTR) {
      perror("ldload: poll");
      exit(1);
    }
    for (int i = 0; i < total; i++) {
      if (!(fds[i].revents & (POLLIN | POLLERR | POLLHUP))) continue;
      conn_t *c = &all[i];
      LDAPMessage *res;
      int type;
      /* drain everything libldap can hand out now, including what it already buffered */
      while ((type = ldap_result(c->ld, LDAP_RES_ANY, LDAP_MSG_ALL, &zero, &res)) > 0) {
        double finished = now();
        int msgid = ldap_msgid(res);
        slot_t *slot = NULL;
        for (int s = 0; s < c->depth; s++)
          if (c->slots[s].msgid == msgid) slot = &c->slots[s];
        if (!slot) {
          ldap_msgfree(res);
          continue;
        }
        if (c->kind == KIND_SEARCH) check_search(c, res, slot);
        else check_bind(c, res, slot);
        ldap_msgfree(res);
        record(c->kind, slot->started, finished);
        slot->msgid = 0;
        if (finished < measure_until && send_one(c, slot) != 0) exit(1);
      }
      if (type < 0) {
        int err = 0;
        ldap_get_option(c->ld, LDAP_OPT_RESULT_CODE, &err);
        fprintf(stderr, "ldload: connection %d lost: %s\n", i, ldap_err2string(err));
        stats[c->kind].errors++;
        fds[i].fd = -1;
      }
    }
  }
  printf("{\"mode\":\"%s\",\"connections\":%d,\"outstanding\":%d,\"bindConnections\":%d,\"seconds\":%.3f,", mode, search_conns, depth,
         bind_conns, duration);
  uint64_t lost = stats[0].errors + stats[1].errors;
  printf("\"lostConnections\":%llu,", (unsigned long long)lost);
  /* the client's own CPU use over the whole run: near 100 % would mean the client, not the server, is the limit */
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  printf("\"clientCpuPercent\":%.1f,", 100.0 * cpu / (now() - start));
  print_stats(KIND_NAMES[0], &stats[0], duration, 1);
  print_stats(KIND_NAMES[1], &stats[1], duration, 0);
  printf("}\n");
  for (int i = 0; i < total; i++) ldap_unbind_ext(all[i].ld, NULL, NULL);
  return 0;
}
