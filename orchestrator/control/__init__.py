"""The Unix-socket API of a running supervisor (`server`) and its client.

One request per connection: a JSON object on one line, answered by a JSON
object on one line. `exec` also passes the command's stdin, stdout and
stderr as file descriptors (SCM_RIGHTS): ends of pipes the client copies
through (`orchestrator.exec_streams`), never the client's own files, which
the runtime would give to the container's user. A client that closes the
connection before its answer cancels its request (an exec's command is
stopped).
"""
