# SPDX-License-Identifier: MIT
# Build switches (mosquitto style). Override on the command line: make WITH_SANITIZERS=1
WITH_LIBGPIOD2 ?= 1
WITH_LIBUSB ?= 1
WITH_SANITIZERS ?= 0
VERSION ?= 0.1.0
