#include <sqlite3.h>

/* sqlite3_config is variadic, which Swift cannot call: one wrapper per use. */

/* Turns off SQLite's count of the memory it holds. The count takes a
   process-wide mutex on every allocation, about two dozen times per change
   written (3% of a bulk write); Margin reads neither the count nor a heap
   limit. Must run before SQLite is first used; SQLITE_MISUSE after. */
static inline int margin_sqlite3_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
