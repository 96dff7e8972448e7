"""The supervisor and everything a user talks to.

`spec` loads Compose files into a frozen model; `plan` turns that model and
the stored images into the plain values `runtime` and `netplug` take;
`service` runs one container's lifecycle; `supervisor` runs a whole stack;
`control` is the Unix-socket API a running supervisor answers; `cli` parses
arguments, maps errors to exit codes and is the only module that prints.
"""
