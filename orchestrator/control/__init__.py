"""The Unix-socket API of a running supervisor (`server`) and its client.

One request per connection: a JSON object on one line, answered by a JSON
object on one line. `exec` also passes the client's stdin, stdout and
stderr as file descriptors (SCM_RIGHTS), so the command's output goes
straight to the user's terminal and nothing is copied through us.
"""
