/*
 * A native load receiver for the fan-out bench: N TCP connections to a labchat server, each
 * registered as a user, read with epoll in one thread. It counts broadcast events (lines that
 * start with "602 ") and, on every K-th connection, the latency of lines that end in
 * " t=<epoch ms>". Unlike the Deno load generator it reads any number of sockets per wake-up,
 * so its own share of a latency figure is small.
 *
 * With a sixth argument, a channel, it speaks IRC instead (to labchat's gateway or any IRC
 * server): each connection registers a nick, joins the channel and counts the PRIVMSGs said in
 * it, so one receiver times every server the same way.
 *
 * Usage: epoll_receiver HOST PORT COUNT SAMPLE_EVERY PREFIX [CHANNEL]
 * Prints "ready" once all are registered. Each line on stdin is a command:
 *   count    prints "received=N" (broadcast events so far)
 *   report   prints "received=N samples=S p50=X p99=Y max=Z" (ms) and starts counting afresh
 *   quit     closes everything and exits
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192
#define BATCH 30

typedef struct {
  int fd;
  int sampled;
  size_t len;
  char line[LINE_MAX_BYTES];
} Conn;

static double *samples;
static size_t sample_count, sample_cap;
static long long received;
/* The IRC channel, or NULL for labchat's own protocol; what marks a counted line in it. */
static const char *channel;
static char irc_mark[300];

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void on_line(Conn *c, char *line, size_t len) {
  if (channel) {
    line[len] = 0;
    if (!strstr(line, irc_mark)) return;
  } else if (len < 4 || memcmp(line, "602 ", 4) != 0) {
    return;
  }
  received++;
  if (!c->sampled) return;
  line[len] = 0;
  char *t = strstr(line, " t=");
  if (!t) return;
  char *last = t;
  while ((t = strstr(last + 1, " t=")) != NULL) last = t;
  double sent = strtod(last + 3, NULL);
  if (sent <= 0) return;
  if (sample_count == sample_cap) {
    sample_cap = sample_cap ? sample_cap * 2 : 65536;
    samples = realloc(samples, sample_cap * sizeof(double));
    if (!samples) exit(3);
  }
  samples[sample_count++] = now_ms() - sent;
}

/* Feeds bytes to a connection; calls on_line per complete line (overlong lines are cut). */
static void feed(Conn *c, const char *bytes, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char b = bytes[i];
    if (b == '\n') {
      size_t len = c->len;
      if (len > 0 && c->line[len - 1] == '\r') len--;
      on_line(c, c->line, len);
      c->len = 0;
    } else if (c->len < LINE_MAX_BYTES - 1) {
      c->line[c->len++] = b;
    }
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void report(void) {
  qsort(samples, sample_count, sizeof(double), cmp);
  double p50 = sample_count ? samples[(size_t)(sample_count * 0.5)] : 0;
  double p99 = sample_count ? samples[(size_t)(sample_count * 0.99)] : 0;
  double max = sample_count ? samples[sample_count - 1] : 0;
  printf("received=%lld samples=%zu p50=%.1f p99=%.1f max=%.1f\n", received, sample_count, p50,
         p99, max);
  fflush(stdout);
  received = 0;
  sample_count = 0;
}

/* Reads one line on a blocking socket. */
static int read_line(int fd, char *out, size_t cap) {
  size_t len = 0;
  char b;
  for (;;) {
    ssize_t n = read(fd, &b, 1);
    if (n <= 0) return -1;
    if (b == '\n') break;
    if (len < cap - 1) out[len++] = b;
  }
  if (len > 0 && out[len - 1] == '\r') len--;
  out[len] = 0;
  return 0;
}

/* Reads one reply line (skipping event lines, which start with 6) on a blocking socket. */
static int read_reply(int fd, char *out, size_t cap) {
  for (;;) {
    if (read_line(fd, out, cap) != 0) return -1;
    if (out[0] != 0 && out[0] != '6') return 0;
  }
}

/* Registers on IRC and joins the channel: 0 once its names list ended, -1 on an error. */
static int irc_join(int fd, char *out, size_t cap) {
  int joined = 0;
  for (;;) {
    if (read_line(fd, out, cap) != 0) return -1;
    char *code = strchr(out, ' ');
    if (!code) continue;
    if (!joined && (strncmp(code, " 001 ", 5) == 0 || strncmp(code, " 004 ", 5) == 0)) {
      char line[300];
      int n = snprintf(line, sizeof line, "JOIN %s\r\n", channel);
      if (write(fd, line, n) != n) return -1;
      joined = 1;
    }
    if (strncmp(code, " 366 ", 5) == 0 && strcasestr(code, channel)) return 0;
    if (code[1] == '4' && strncmp(code, " 421 ", 5) != 0 && strncmp(code, " 422 ", 5) != 0) {
      return -1;
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 6 && argc != 7) {
    fprintf(stderr, "usage: %s HOST PORT COUNT SAMPLE_EVERY PREFIX [CHANNEL]\n", argv[0]);
    return 2;
  }
  if (argc == 7) {
    channel = argv[6];
    snprintf(irc_mark, sizeof irc_mark, " PRIVMSG %s :", channel);
  }
  const char *host = argv[1];
  int port = atoi(argv[2]), count = atoi(argv[3]), every = atoi(argv[4]);
  const char *prefix = argv[5];
  if (count <= 0 || every <= 0) return 2;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return 2;
  Conn *conns = calloc(count, sizeof(Conn));
  if (!conns) return 3;
  char reply[512];
  for (int start = 0; start < count; start += BATCH) {
    int end = start + BATCH < count ? start + BATCH : count;
    for (int i = start; i < end; i++) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        fprintf(stderr, "connect: %s\n", strerror(errno));
        return 1;
      }
      conns[i].fd = fd;
      conns[i].sampled = i % every == 0;
      char line[256];
      int n = channel
        ? snprintf(line, sizeof line, "NICK %s%d\r\nUSER %s%d 0 * :%s\r\n", prefix, i, prefix, i, prefix)
        : snprintf(line, sizeof line, "REGISTER %s%d pw\n", prefix, i);
      if (write(fd, line, n) != n) return 1;
    }
    for (int i = start; i < end; i++) {
      if (channel) {
        if (irc_join(conns[i].fd, reply, sizeof reply) != 0) {
          fprintf(stderr, "%s%d cannot join %s: %s\n", prefix, i, channel, reply);
          return 1;
        }
        continue;
      }
      if (read_reply(conns[i].fd, reply, sizeof reply) != 0 || strncmp(reply, "200 ", 4) != 0) {
        fprintf(stderr, "REGISTER %s%d failed: %s\n", prefix, i, reply);
        return 1;
      }
    }
  }
  int ep = epoll_create1(0);
  for (int i = 0; i < count; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  struct epoll_event in = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in);
  printf("ready\n");
  fflush(stdout);
  static struct epoll_event events[1024];
  static char buffer[65536];
  char command[64];
  size_t command_len = 0;
  for (;;) {
    int n = epoll_wait(ep, events, 1024, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    for (int e = 0; e < n; e++) {
      Conn *c = events[e].data.ptr;
      if (c == NULL) {
        ssize_t got = read(0, buffer, sizeof buffer);
        if (got <= 0) return 0;
        for (ssize_t i = 0; i < got; i++) {
          if (buffer[i] != '\n') {
            if (command_len < sizeof command - 1) command[command_len++] = buffer[i];
            continue;
          }
          command[command_len] = 0;
          command_len = 0;
          if (strcmp(command, "report") == 0) report();
          if (strcmp(command, "count") == 0) {
            printf("received=%lld\n", received);
            fflush(stdout);
          }
          if (strcmp(command, "quit") == 0) {
            for (int k = 0; k < count; k++) close(conns[k].fd);
            return 0;
          }
        }
        continue;
      }
      ssize_t got = read(c->fd, buffer, sizeof buffer);
      if (got > 0) feed(c, buffer, got);
      else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      }
    }
  }
}
