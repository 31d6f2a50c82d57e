"""The Python standard-library sender the benchmark compares against.

What many existing notification scripts do: urllib + ssl, verifying the
server with the given CA. Usage: send_urllib.py URL CA_FILE PAYLOAD_FILE.
Exits 0 only on HTTP 200 with body "ok", as Mattermost answers.
"""

import ssl
import sys
import urllib.request


def main():
    url, ca_file, payload_file = sys.argv[1:4]
    context = ssl.create_default_context(cafile=ca_file)
    with open(payload_file, "rb") as f:
        body = f.read()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        if response.status != 200 or response.read() != b"ok":
            sys.exit(1)


if __name__ == "__main__":
    main()
