/* The floor for manifest loading: read a file's libyaml events and nothing else.
   `scan FILE` scans once and prints the event count: the whole-process baseline.
   `scan --best-of N FILE` prints the best of N scans in milliseconds: the in-process one.
   Built and run by Benchmarks/run.sh. */
#include <yaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double milliseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    int runs = 1;
    const char *path = argv[1];
    if (argc == 4 && strcmp(argv[1], "--best-of") == 0) {
        runs = atoi(argv[2]);
        path = argv[3];
    } else if (argc != 2) {
        fprintf(stderr, "usage: %s [--best-of N] FILE\n", argv[0]);
        return 2;
    }
    FILE *file = fopen(path, "rb");
    if (!file) { perror(path); return 1; }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    rewind(file);
    unsigned char *buffer = malloc(size);
    if (fread(buffer, 1, size, file) != (size_t)size) { perror(path); return 1; }
    fclose(file);

    double best = 1e30;
    long events = 0;
    for (int run = 0; run < runs; run++) {
        double start = milliseconds();
        yaml_parser_t parser;
        yaml_event_t event;
        yaml_parser_initialize(&parser);
        yaml_parser_set_input_string(&parser, buffer, size);
        events = 0;
        for (;;) {
            if (!yaml_parser_parse(&parser, &event)) { fprintf(stderr, "libyaml error\n"); return 1; }
            int type = event.type;
            yaml_event_delete(&event);
            events++;
            if (type == YAML_STREAM_END_EVENT) break;
        }
        yaml_parser_delete(&parser);
        double elapsed = milliseconds() - start;
        if (elapsed < best) best = elapsed;
    }
    if (runs == 1) printf("%ld events\n", events);
    else printf("libyaml event scan: %.2f ms (best of %d, %ld events)\n", best, runs, events);
    free(buffer);
    return 0;
}
