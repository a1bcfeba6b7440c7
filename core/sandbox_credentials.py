"""SANDBOX-ONLY credentials for the built-in payment and WeChat simulator.

Everything in this file is public, committed on purpose and worthless outside
the sandbox: the simulator (``sandbox``) signs and verifies with it,
development config defaults to it when ``PAYMENT_SANDBOX`` is on, and
``ProductionConfig`` refuses to start with any of it. It lives in ``core``
because the config needs it and ``core`` imports no higher package.
"""

import base64
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SANDBOX_URL = "http://127.0.0.1:5001"

# WeChat mini-program and WeChat Pay v2 merchant (SANDBOX ONLY).
WECHAT_APPID = "wxsandbox000000001"
WECHAT_SECRET = "sandbox-only-wechat-secret-00001"  # noqa: S105 - public sandbox value
WECHAT_PAY_MCH_ID = "9999000001"
WECHAT_PAY_API_KEY = "sandboxsandboxsandboxsandboxonly"  # 32 characters, like a real v2 key

# Alipay open-platform app (SANDBOX ONLY): the app's key pair, stored as PKCS#8
# the way Alipay's key tool emits it, and the simulated Alipay's own key pair.
ALIPAY_APP_ID = "2021000000000001"
ALIPAY_SELLER_ID = "2088000000000001"

ALIPAY_APP_PRIVATE_KEY = """\
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDEMm0Yue5mvtM4
VZsXaeqXhFwO4oekE1IQvRxbc+8ipMsfP97OwMfvm5gP5LC7eJ0Hx3zCdCxDY2B5
BkUv6HxquNx7ZUiuQg6uVf9Q3Qxtl9vJESKKpIqbzrtnfmxO8an4vgGXqNl0zNBD
LnHekvAO2+TwmbSH3hlLC81LJF+MHXAca7N4yc0rgN51VtKyGyCwIj3K9BfLd54Z
YK4bM5KxR9dHq9AbGMuXbyTxL6O+htSmjNC7TMugqm8wk+ZhlQY9a1idNb9A9a4L
8VA8IDEvTwhZcJUnmQkVnlyISSNyIYQqQGbLqfYkBI7s1x3tVUs2cW7QZY7TjFQb
vIIEsKD5AgMBAAECggEACivJDxaYftgWsB10AFc706YHdbgVqxJbV0XOggk1FPkx
FIolnVdOJiRNUkmbReS/U0dqttP59XZh6nRCQvUM+iViPL1n8qy3AR+xMDp9afMM
8FQEk+Zqzx/9BCUALWmG07/Z6khVGaKCi3ENcynv6v1IVZbKTp7bddIDTwlwMJ3A
1QGuGGqjZYN0gvouc/4SvSwkva7iR5EfkANhrmSAnix1tHU8WPxq4Q6H553Ep3t/
bwCqBPtSfbgurzWMjIN8TzXcpFk5gOv1dDtW//y+GvK/Dc/cj8ROtrUf5zEapifn
kc3M4HJs/hJK22/TccIaCwiibd4dNGSvvfeBXF7npwKBgQDgepQPNBCRshKlzQJA
2vphUcDVea3uHBrumt23S3es+X5VZLTrobbd48ED36D+y3azNfdIzZgtd0jUghsV
jkGNcXRvk1lxkI3ZC02jQKu3W36ejL2eSNpXWkuV6OH2CV9hxC4H61IG8p6819MW
ZUIGkpT25UCIOD1P4D8YeG1YKwKBgQDfvzCo0d+Px22xJYJP5Xriw7JgiCgjjDgE
qqIH+HJRV2jEihgZPWJkCk0em89/+L2Nythwjydgj23bE2w2gUSQ5NEiNoPkVuSo
azyeJsM/MOttCQXSFwDQn7hND18zy1lhrTYl5LqIpHkAoX26VGHMG7qaA5eggeyP
6zlY1GPVawKBgEa+mtbHw8kG49WY7HLgEDSHfUxJ0sTN2rcD24geopLC9kuXN2Vj
S6xWUMgVvDlQihIkmdA56xG5HBzM/BgpAwO+k8FuIKwnsGyMoWUnxnY8wYTaOhAe
SaFp9ZRDFqNhhMvc9dzNDsbdw6UkJ4RRWSOVIplE2reTcc8wjvH5UgyNAoGBALCp
A2F3+/1I5/oDdKViuikLfO6s8oxGrQA6PZ7vckt5KXZs1mQvTF1SqNtvCGGxYvDu
ZQBSdzPNa16bMkjCvgFtORa7Vl3Wocm8iesRDf35wRihFCByGymdwmXNqkx51UPD
AErhEsrKmeN+noedEm6WwjnSdki77K0he3EAmSarAoGBALXR7UxJY9EWUp7wQbG5
cRU3XfblA3SeKM5thXpKcVCxq8ZBKSQXj0kqhYQJy5FSPdJQlbhg8EwgPpKUc7mP
HaBdmzQ9mQK+4vXgFrYaWmmWLnn8Y8SSfDhhkP7/IZu3AE6xDkYgT3MHyPdEx+h5
GwU9PzZweRK3gAX6wO9TvANU
-----END PRIVATE KEY-----
"""

ALIPAY_APP_PUBLIC_KEY = """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxDJtGLnuZr7TOFWbF2nq
l4RcDuKHpBNSEL0cW3PvIqTLHz/ezsDH75uYD+Swu3idB8d8wnQsQ2NgeQZFL+h8
arjce2VIrkIOrlX/UN0MbZfbyREiiqSKm867Z35sTvGp+L4Bl6jZdMzQQy5x3pLw
Dtvk8Jm0h94ZSwvNSyRfjB1wHGuzeMnNK4DedVbSshsgsCI9yvQXy3eeGWCuGzOS
sUfXR6vQGxjLl28k8S+jvobUpozQu0zLoKpvMJPmYZUGPWtYnTW/QPWuC/FQPCAx
L08IWXCVJ5kJFZ5ciEkjciGEKkBmy6n2JASO7Ncd7VVLNnFu0GWO04xUG7yCBLCg
+QIDAQAB
-----END PUBLIC KEY-----
"""

ALIPAY_GATEWAY_PRIVATE_KEY = """\
-----BEGIN RSA PRIVATE KEY-----
MIIEogIBAAKCAQEAxIVpCYNcmG/Qwf5dXExB3Ep4bVdjMgvJPIFxu1tEQFsfdbyG
WrKL+XHLhv2riUFYn5vHY/yuXS0u3oFuqHhmKtyZrT5iSYp6SJHbuIjmvm1H+2ai
lD8BNyrE6GHj5tebmgh3eXVFgmZ1JzbxXll3XPw3PQhv5oVjAkR1KL5rY2QmrdYy
xpcZBq92M8Y06Wj18KIN2td76kCyMlrNhS1DCqVQ5tibkAxpCHOnx6BF6zuy9QGN
RpPRx3MYY/TZ/KUz5Lh6Xi2yqRyPlcqsXbDVR886+lma2+V9zoSa0w3aMv3Hpcbp
j6toLmz7enEFk13QrE6vUrME6QBOQuhj7/oEowIDAQABAoIBACeWHin56aGVSI6D
YCgS/mNTJv4Tj9pJcIB9LL1Kba2vDV/ImaHUfIjDaPWozLCJ1sHT/e7AvBjt3Jaa
qQFLu3zf0h8JRYA94lMS+pkqDp0GY20baB2HsYV82oxbB678+I2nLfXr7xQM8oVz
NlzEldxHvBLRy8S6Us7mnlkWPoiXDgJMTwi0FKa1VzDEVxVcz1pefKxdLPXAQBIG
B4a3kLccB2WREkGoevR1hh7AE+KchkqTwB3REjtjOKwF1MPpOCCZU718ROvNHMZf
0hsH79n+cSq0rOCMy15gatglbtzsbJLTCmoQoLa0jSq0B2lXF0lBI/XE0wfp+yYL
sXbJHG0CgYEA7jemt44wgj4tYim/kv3XnBTCAjl0E7T+NnPsL2Taq7kdMI1WNCRl
cAzKzyywxxHdSk4vCIRVomUyG4kN4rLddHT0L5IRSFPekqv9j4SP9Q7e9fO3+ObZ
qCVU5BKUjatOTWeuzlExsodvHE75h6vAVgOMsFeWYM4YKzQbu0CmSf8CgYEA0zDw
7UXHYD+BczO3sQ+q5TvHtT49xWf5hoK7kqQ+KcfnY12aBsv3ZcqPYhtQjubbhDcM
LRjctiq3gkP3cX/6/9mKNRULCsxYdMiXTQ8TTc5z7TyVDjULmn5OQuKPIkS9V7hv
NZ/cIvn5NeT23TyvyFEAfc37VvDWEAi0LTpQ3V0CgYBfcLqB1h0HQYQLTTCs4rjM
luB35a7k6mHjTSR2hJC7tknElwvPjjl54BYtVPlqeHTRfWuInQR2MNcXgxymFAV3
0Be5K2tzL+7/kprfMjw+8XtQzRmLRmoz3OkbC3qrG9QeXQkDLjKcFXjlvZppyd0g
WQG38Q+Vr1ytio4Fwswc3wKBgESODIdZMWFC/CiDT0vAxD7pauigrbiZCdzqLy1o
92zkoW4WAlvWdhaq7GRybXIV6og+vksdWPghYbR9j6NeYgIPgde9XvpAXy55tvOi
wydsryEBm3kjKwMZoRoBJWmAWt5Q1njXzcPk1UrzaldizcT+1mQAK2iLgVFvId3U
ok9ZAoGAXwoHmwHGWTY3kOZCmevoVidj8fTF/U/2p4uQ9Kfefbg0wtDQd/mUNfYb
T98o502kifoqQaIQPiYn4z9DqVZC78nZXWnh5k7PCZ7xCJYXus8yLv9EVejfpAwY
g6zldzcv64u3YAqs0487d2folqzflmozbGMnpPrqISYxglRGYDs=
-----END RSA PRIVATE KEY-----
"""

# What the app configures as ALIPAY_PUBLIC_KEY: the simulated Alipay's public key.
ALIPAY_PUBLIC_KEY = """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxIVpCYNcmG/Qwf5dXExB
3Ep4bVdjMgvJPIFxu1tEQFsfdbyGWrKL+XHLhv2riUFYn5vHY/yuXS0u3oFuqHhm
KtyZrT5iSYp6SJHbuIjmvm1H+2ailD8BNyrE6GHj5tebmgh3eXVFgmZ1JzbxXll3
XPw3PQhv5oVjAkR1KL5rY2QmrdYyxpcZBq92M8Y06Wj18KIN2td76kCyMlrNhS1D
CqVQ5tibkAxpCHOnx6BF6zuy9QGNRpPRx3MYY/TZ/KUz5Lh6Xi2yqRyPlcqsXbDV
R886+lma2+V9zoSa0w3aMv3Hpcbpj6toLmz7enEFk13QrE6vUrME6QBOQuhj7/oE
owIDAQAB
-----END PUBLIC KEY-----
"""

# Settings whose sandbox value production must never run with.
SANDBOX_SETTINGS = {
    "WECHAT_APPID": WECHAT_APPID,
    "WECHAT_SECRET": WECHAT_SECRET,
    "WECHAT_PAY_MCH_ID": WECHAT_PAY_MCH_ID,
    "WECHAT_PAY_API_KEY": WECHAT_PAY_API_KEY,
    "ALIPAY_APP_ID": ALIPAY_APP_ID,
}
SANDBOX_KEYS = {
    "ALIPAY_APP_PRIVATE_KEY": ALIPAY_APP_PUBLIC_KEY,
    "ALIPAY_PUBLIC_KEY": ALIPAY_PUBLIC_KEY,
}

_PEM_ARMOUR = re.compile(r"-----(BEGIN|END) [A-Z ]+-----")


def _modulus(text: str) -> int | None:
    """The RSA modulus of a public or private key in PEM or bare base64 DER, if it parses."""
    body = _PEM_ARMOUR.sub("", text or "")
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
    except ValueError:
        return None
    loaders = (
        lambda: serialization.load_der_private_key(der, password=None),
        lambda: serialization.load_der_public_key(der),
    )
    for load in loaders:
        try:
            key = load()
        except (ValueError, TypeError):
            continue
        if isinstance(key, rsa.RSAPrivateKey):
            return key.public_key().public_numbers().n
        if isinstance(key, rsa.RSAPublicKey):
            return key.public_numbers().n
    return None


def is_sandbox_key(text: str, sandbox_public_pem: str) -> bool:
    """True when ``text`` is (either half of) the sandbox key pair whose public key is given."""
    modulus = _modulus(text)
    return modulus is not None and modulus == _modulus(sandbox_public_pem)
