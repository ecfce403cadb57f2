#include <gpiod.h>
#include <sys/eventfd.h>  /* the button thread's wake-up */
