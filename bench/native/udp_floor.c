/*
 * The floor of a UDP file sender, for `deno task bench --scenarios p2p`: what the kernel costs to
 * send a file as datagrams at a given rate, with nothing else done (no protocol, no hash).
 *
 *   udp_floor send IP PORT FILE BYTES_PER_SECOND   reads the file and sends it paced, 44
 *       datagrams of 1472 bytes per message with segmentation offload (as labchat's Linux engine
 *       does), then prints "sent BYTES SECONDS USER_CPU SYSTEM_CPU"
 *   udp_floor sink IP PORT BYTES                    receives with receive offload until BYTES
 *       arrived or 2 s pass without any; prints "ready" once bound, then "received BYTES"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SOL_UDP_LEVEL 17
#define UDP_SEGMENT_OPTION 103
#define UDP_GRO_OPTION 104
#define DATAGRAM 1472
#define PER_MESSAGE 44

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int address(const char *ip, const char *port, struct sockaddr_in *out) {
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((uint16_t)atoi(port));
  return inet_pton(AF_INET, ip, &out->sin_addr) == 1 ? 0 : -1;
}

static int send_file(const char *ip, const char *port, const char *path, double rate) {
  struct sockaddr_in to;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (s < 0 || fd < 0 || fstat(fd, &st) != 0 || address(ip, port, &to) != 0 || rate <= 0) {
    fprintf(stderr, "udp_floor: cannot start\n");
    return 1;
  }
  static char buffer[DATAGRAM * PER_MESSAGE];
  char control[CMSG_SPACE(sizeof(uint16_t))];
  double start = now();
  off_t sent = 0;
  while (sent < st.st_size) {
    ssize_t n = pread(fd, buffer, sizeof buffer, sent);
    if (n <= 0) break;
    struct iovec iov = {buffer, (size_t)n};
    struct msghdr message = {
        .msg_name = &to,
        .msg_namelen = sizeof to,
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control,
        .msg_controllen = sizeof control,
    };
    struct cmsghdr *segment = CMSG_FIRSTHDR(&message);
    segment->cmsg_level = SOL_UDP_LEVEL;
    segment->cmsg_type = UDP_SEGMENT_OPTION;
    segment->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t size = DATAGRAM;
    memcpy(CMSG_DATA(segment), &size, sizeof size);
    if (sendmsg(s, &message, 0) < 0) {
      usleep(200); /* the queue is full: try again shortly */
      continue;
    }
    sent += n;
    double due = start + sent / rate, late = due - now();
    if (late > 0) {
      struct timespec wait = {(time_t)late, (long)((late - (time_t)late) * 1e9)};
      nanosleep(&wait, NULL);
    }
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  printf("sent %lld %.3f %.3f %.3f\n", (long long)sent, now() - start,
         usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6,
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6);
  return sent == st.st_size ? 0 : 1;
}

static int sink(const char *ip, const char *port, double expected) {
  struct sockaddr_in at;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  int on = 1, buffer_bytes = 16 << 20;
  if (s < 0 || address(ip, port, &at) != 0) return 1;
  setsockopt(s, SOL_UDP_LEVEL, UDP_GRO_OPTION, &on, sizeof on);
  setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof buffer_bytes);
  if (bind(s, (struct sockaddr *)&at, sizeof at) != 0) return 1;
  struct timeval quiet = {2, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &quiet, sizeof quiet);
  static char buffer[65536];
  printf("ready\n");
  fflush(stdout);
  double received = 0;
  while (received < expected) {
    ssize_t n = recv(s, buffer, sizeof buffer, 0);
    if (n < 0) break;
    received += n;
  }
  printf("received %.0f\n", received);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "send") == 0) {
    return send_file(argv[2], argv[3], argv[4], atof(argv[5]));
  }
  if (argc == 5 && strcmp(argv[1], "sink") == 0) return sink(argv[2], argv[3], atof(argv[4]));
  fprintf(stderr, "usage: udp_floor send IP PORT FILE BYTES_PER_S | sink IP PORT BYTES\n");
  return 2;
}
