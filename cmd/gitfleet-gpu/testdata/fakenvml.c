/*
 * A stand-in for the NVIDIA driver's libnvidia-ml.so.1 with one 16 GiB card, for the test
 * that runs gitfleet-gpu through the real go-nvml bindings (dlopen, symbol binding, C
 * structs) on a machine without a GPU. Only the calls gitfleet-gpu makes are here; the
 * signatures and struct layouts are NVML's (nvml.h).
 */
#include <string.h>
#include <unistd.h>

typedef int nvmlReturn_t;
enum { OK = 0, NOT_SUPPORTED = 3, NOT_FOUND = 6, INSUFFICIENT_SIZE = 7, TIMEOUT = 10 };

struct card { int minor; const char *uuid; const char *name; };
static struct card card0 = { 0, "GPU-fa4e0000-1111-2222-3333-444455556666", "Fake NVIDIA GPU 16GB" };
typedef struct card *nvmlDevice_t;
typedef struct { int unused; } *nvmlEventSet_t;
static int eventset;

typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct {
	char busIdLegacy[16];
	unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
	char busId[32];
} nvmlPciInfo_t;
typedef struct { nvmlDevice_t device; unsigned long long eventType, eventData; unsigned int gpuInstanceId, computeInstanceId; } nvmlEventData_t;
typedef struct { unsigned int pid; unsigned long long usedGpuMemory; unsigned int gpuInstanceId, computeInstanceId; } nvmlProcessInfo_t;

nvmlReturn_t nvmlInit_v2(void) { return OK; }
nvmlReturn_t nvmlInit(void) { return OK; }
nvmlReturn_t nvmlShutdown(void) { return OK; }
const char *nvmlErrorString(nvmlReturn_t r) { return r == OK ? "Success" : "Fake NVML error"; }

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n) { *n = 1; return OK; }
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) { if (i) return NOT_FOUND; *d = &card0; return OK; }
nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *d) {
	if (strcmp(uuid, card0.uuid)) return NOT_FOUND;
	*d = &card0;
	return OK;
}
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *buf, unsigned int n) { strncpy(buf, d->uuid, n - 1); buf[n - 1] = 0; return OK; }
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *buf, unsigned int n) { strncpy(buf, d->name, n - 1); buf[n - 1] = 0; return OK; }
nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t d, unsigned int *m) { *m = d->minor; return OK; }
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m) {
	m->total = 16ULL << 30; m->used = 1ULL << 30; m->free = m->total - m->used;
	return OK;
}
nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *p) {
	memset(p, 0, sizeof *p);
	strcpy(p->busId, "00000000:3B:00.0");
	return OK;
}

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *s) { *s = (nvmlEventSet_t)&eventset; return OK; }
nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t s) { return OK; }
nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t d, unsigned long long *t) { *t = 1 | 2 | 8; return OK; }
nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t d, unsigned long long t, nvmlEventSet_t s) { return OK; }
/* No event ever comes; a short wait keeps the test's shutdown quick. */
nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t s, nvmlEventData_t *e, unsigned int ms) { usleep(50 * 1000); return TIMEOUT; }

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *n, nvmlProcessInfo_t *p) { *n = 0; return OK; }
nvmlReturn_t nvmlDeviceGetMPSComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *n, nvmlProcessInfo_t *p) { *n = 0; return OK; }
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t d, void *s, unsigned int *n, unsigned long long since) { return NOT_FOUND; }
