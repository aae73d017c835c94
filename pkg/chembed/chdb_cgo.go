//go:build linux && cgo

package chembed

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

typedef void* (*chdb_query_cmdline_fn)(int, char**);
typedef const char* (*chdb_result_error_fn)(void*);

static void* chdb_sym(void* handle, const char* name, char** err) {
	void* sym = dlsym(handle, name);
	if (!sym) *err = dlerror();
	return sym;
}

static void* chdb_open(const char* path, char** err) {
	void* h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!h) *err = dlerror();
	return h;
}

static void* chdb_call_cmdline(void* fn, int argc, char** argv) {
	return ((chdb_query_cmdline_fn)fn)(argc, argv);
}

static const char* chdb_call_result_error(void* fn, void* result) {
	if (!fn || !result) return 0;
	return ((chdb_result_error_fn)fn)(result);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// runCmdline loads libchdb.so and runs clickhouse-local with args (argv[0] is
// the program name). It blocks for as long as the query given in args runs.
func runCmdline(libPath string, args []string) error {
	cpath := C.CString(libPath)
	defer C.free(unsafe.Pointer(cpath))
	var cerr *C.char
	handle := C.chdb_open(cpath, &cerr)
	if handle == nil {
		return fmt.Errorf("load %s: %s", libPath, C.GoString(cerr))
	}
	cmdline := lookup(handle, "chdb_query_cmdline")
	if cmdline == nil {
		return errors.New("libchdb.so has no chdb_query_cmdline")
	}
	resultError := lookup(handle, "chdb_result_error")

	argv := make([]*C.char, len(args)+1)
	for i, a := range args {
		argv[i] = C.CString(a)
		defer C.free(unsafe.Pointer(argv[i]))
	}
	result := C.chdb_call_cmdline(cmdline, C.int(len(args)), &argv[0])
	if msg := C.chdb_call_result_error(resultError, result); msg != nil {
		return errors.New(C.GoString(msg))
	}
	return nil
}

func lookup(handle unsafe.Pointer, name string) unsafe.Pointer {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var cerr *C.char
	return C.chdb_sym(handle, cname, &cerr)
}
