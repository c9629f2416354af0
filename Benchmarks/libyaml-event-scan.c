/* The floor for manifest loading: read a file's libyaml events and nothing else.
   Prints the best of 15 runs in milliseconds. Built and run by Benchmarks/run.sh. */
#include <yaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double milliseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s FILE\n", argv[0]); return 2; }
    FILE *file = fopen(argv[1], "rb");
    if (!file) { perror(argv[1]); return 1; }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    rewind(file);
    unsigned char *buffer = malloc(size);
    if (fread(buffer, 1, size, file) != (size_t)size) { perror(argv[1]); return 1; }
    fclose(file);

    double best = 1e30;
    long events = 0;
    for (int run = 0; run < 15; run++) {
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
    printf("libyaml event scan: %.2f ms (best of 15, %ld events)\n", best, events);
    free(buffer);
    return 0;
}
