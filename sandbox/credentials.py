"""SANDBOX-ONLY credentials for the built-in payment and WeChat simulator.

Everything in this file is public, committed on purpose and worthless outside
the sandbox: the simulator (``sandbox``) signs and verifies with it, and the
app factory fills the gateway settings a development config leaves unset with
it when ``PAYMENT_SANDBOX`` is on (``fill_unset_settings``). A production
process never imports it: ``ProductionConfig`` recognises these values by the
fingerprints in ``core.config`` (``SANDBOX_VALUE_FINGERPRINTS``, ``…_KEY_…``) (kept equal to
``fingerprints()`` by a test) and refuses to start with any of them.
"""

import os

from core.config import DEFAULT_SANDBOX_URL, rsa_modulus, sandbox_fingerprint

SANDBOX_URL = DEFAULT_SANDBOX_URL

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

# WeChat Pay API v3 in public-key mode (SANDBOX ONLY): the merchant's API key pair
# and its serial, the APIv3 key, and the simulated WeChat Pay's own key pair with
# its public key id (what a merchant downloads as 微信支付公钥 and PUB_KEY_ID_…).
WECHAT_PAY_V3_SERIAL_NO = "5A5B5C5D5E5F0000000000000000000000000001"
WECHAT_PAY_V3_KEY = "sandboxapiv3keysandboxapiv3only1"  # 32 bytes, like a real APIv3 key
WECHAT_PAY_V3_PUBLIC_KEY_ID = "PUB_KEY_ID_0199990000012026113000000000000001"

WECHAT_PAY_V3_PRIVATE_KEY = """\
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDLSr5X8csRD7iM
Y9QGHW1KdHLL1ke1OE6b4l5b+KX21bXaVJ4Fn0oQQ2q/V9wR0hVpGEbH8k8zVCTu
lowHWlOHbwg8yNcypMVt/Jo3+tbo4n1GGZc1y43nRdM0fN/Trq+YXdxm6zN0TUcn
J/LuGmlr5k0fIUARKExOecThWIaUNUmnYXREQ4CYRKuOvggPd8bWQFN/pzP9kwB2
PwYdpQAGP7ixKSZWSa1T5Od4NObmzMVXH7I/TSNDGz1Jr4CIebsM0WCOx5KIy55v
BDzOGHmplYl1YW0SKG/np+/MizqtKYTCDAWFP685p829uuAjc6mb/yVsjH0BYItH
t++bN8rrAgMBAAECggEAUzwCHR3px82JASoqeGp6Af8VtXHBoGgyf0661atDwIGV
2JPGs4SZnXkM7tT5TO6YR5Rh/qGuXdS43lsTcDtCcfQ7CjAtNBYUo8jGF9+DOIzr
P9VgfO0f565GIHp0ZkZirN7ZS+ZHBfpSBK0toOF9gmkj8Hf7tEqsm4Dt5FoLmAhS
Wp3zygu8hUHHHTTSUHxgGlNeDwcaOUMhQtR250Sb1f6QVVf/1ozamKZR61d8qgZ8
n4k67PZMwMeKkUFDwhe4sqdOZ4So2zdZPwMjd1I+1oV67iReeK7Zy2WUeRNok/31
sY+tjryTlaz8BGn3+wXcKVmobVM503v44Gf+poqeOQKBgQDvvJhOredhahoJSE6t
S8/ho/HIip16GQ8hdqwGPfCPtQtZH1l4NqVyjbWLL99mllSk8MzhBNOVKMkm4/2N
eZ6luRdaL8NMqd0xtgi9cFoePsTleBLDXGfvMfebKXqbldpLXKyJP4NuY7zZUGql
5HPVRW9831Nf/MB2FWpiS1aiLwKBgQDZFTp75nJ/lknijyJWt1ePCggrIPOKxzjx
0nW455l3ftU7f3PBfE087O4DIUCUMRuznmnX+MH9PT7eoB9oScX2cN9xMCwZ1UZA
AyzWHQ1hJM3InnjRBp01O4ddb8RPc+eDNK8vgXKxaTexH+R2wvIjF8bj828GdSNl
CYmjMVtgBQKBgC/8cggdqxjGohuFi6oIaL3jkPvxMwBDj9HE7T36m/JH7NOUANad
KZS6ZMJNfMwN/zdcs8W+r5NFrK3KKPBujaDiYZg9wzvPLGVM6IbyvDcdnU/JLwhH
sM4iFEvMi6wk3KMFE8wNGIO6FwzwmchG6CCiW2SFVyz5bJS2SKsQJXElAoGAcn38
w34uY1Zbj49YWA4IsxtiZYTSjh42zWvnxOb5jQmq4t98qM6rWffILIRsL/yalKh3
QH4lqi+UKgyfo/xM2YZ8gpEaoWFX1MkX67GU7ehgVHAoXm4zmfDUmxYonpMNxqiR
wOdwG1vYEKY2c+CrnpCayH0K0IgVa+OU4SpV/BUCgYBEfQbJSHVr/Y1d6LOvMUw4
n4FcjJ9qMwH84awJ0t3huWk4G7uid62eXHFdoEm/np95YirVXOwbBWvxAmM3SbEq
lB4pGmoE5TUW5ssfWuKt45XO/EuNuZfWEUQX1lMp3qtRHX5igOxFbjkvqwNJXcoa
BeuGBWqXJj8k4bob0VSLow==
-----END PRIVATE KEY-----
"""

WECHAT_PAY_V3_MERCHANT_PUBLIC_KEY = """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAy0q+V/HLEQ+4jGPUBh1t
SnRyy9ZHtThOm+JeW/il9tW12lSeBZ9KEENqv1fcEdIVaRhGx/JPM1Qk7paMB1pT
h28IPMjXMqTFbfyaN/rW6OJ9RhmXNcuN50XTNHzf066vmF3cZuszdE1HJyfy7hpp
a+ZNHyFAEShMTnnE4ViGlDVJp2F0REOAmESrjr4ID3fG1kBTf6cz/ZMAdj8GHaUA
Bj+4sSkmVkmtU+TneDTm5szFVx+yP00jQxs9Sa+AiHm7DNFgjseSiMuebwQ8zhh5
qZWJdWFtEihv56fvzIs6rSmEwgwFhT+vOafNvbrgI3Opm/8lbIx9AWCLR7fvmzfK
6wIDAQAB
-----END PUBLIC KEY-----
"""

# The simulated WeChat Pay's private key: it signs answers and notifications.
WECHAT_PAY_V3_PLATFORM_PRIVATE_KEY = """\
-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQCa/2lktXs4bAIx
ntnCOaGcePULrRxkZhNhOFQ0GZ9LmzvCGMzyipiCn/qzcTocEhRsURlG2OjW41X0
XGZvZZvJbWCX/7OW6V4zBnkp7oxWuySuTTZx/RCd1oI+yMxZc+oknfH0c36qL9df
dsVsWeO+ejgL1uw7bATkRIEj+hsSQU+vQyzVM5IN1bluCxh0etUaKRrLfkjiHNHT
yvIUKdSnRjYPFP1HS+Ptu87LadK3F/uifmCaRPxT2E89i4pJSDiGxEHMq4L8CXjn
V3AHZPDbG62Yd1NlKOBDm3xBTgc5Ge+K40i8sQKUb1+JWFvnw2JUBvwIkS5Ko61Y
HCdGPjeTAgMBAAECggEAFsVHGoB+5b8YY2nO2/XThEVQ2rJH5YgJeNLpq+3HtTfN
A6rZERjDZw1Rq2MLAmy1i2QurnXXXxpu2kNo2Ry4UlM7SZlLLPSD3kMpMbvV6jf8
H49AXGatNkL5R3gAbXPWBiMeFKeTCDWXEnNEdbKO/sC90x9z/RbVcSOPRVXM/FVZ
L5Op2dVKLB7k4LF1dFsCCeXnLbrGn+C3fXHsFGGUlqs4CoT59SKxz8qwNAMDcrVG
WgsjwsdADo0NFX77rmtyPkCqvEjGmYz26nCAhkOvd2v3rfxk+oVW3ZKX++VCA6xo
uSbCWdt6yAgRF4wK1Q8+ReQtDldsRRchPkoC1mrxAQKBgQDbMf02Yp43AwmDUfKq
eJX8PMqmUpSL+K4i8X6Pm65g27w9eU/0uszwMvhRhJJ4BfMVuOXr8MraNEJpoib8
b4HchdLWe0jOnXq5/+2TrjMnRsRTwD2ckDLAPR3H7UaqWBYKuY6g+ZN2H2ixsYl0
hqY7LXggWI4uk05Qu0yzSwzh8wKBgQC1Besz4b+vc6MGXd4yDpmyIHs/urIapc6i
K4pZlPEOiX8oL78rzZGXqkPcm08gQanQxAMVUM1Vw8U8OERL+o5KupBlVi9B+WyX
x9dUPrTFxjzJJd0a8TDMCF3cyKs1E67MUHC/JOopWI2dlKrJJRLapnCTFeNyrIBE
icrZik0b4QKBgQDHnNR9TH3Ml0V4g4471CiyViIuKRICDet3AvlAioPYzQK18N3x
fpPXQnOEuPgxuSlP5Nvta5Ev+VtpmzNpu5pFWtFQZWE+V4dGD10pmgAXioiLxIvX
IjI1gvK1+Mzbn/AiwCy1R9MURTIwb/8/UMfdKGE3A64nmBo/xvHobTZEJQKBgQCd
GOzckp6Sui0Ruma5VFhn8K5lSTWF0L05mcWwJoTok8TJcF5cukMOtxG7owERQksI
RQNT/VKliodh0oba1S+lhLEJcLkEbVyjgCfMEbs6I+bevcBbwFMTznL+xxtlrZY1
891U1MluZk5IIhvxAf6RyH3L9+PywedzE436Kn7uoQKBgQCUKOnz7+EuOkwDnQVO
x+KAS/bzvVu4FTAPOaztXAuyo65eIHI1ac+BXGdSeX2m/srKDbYCRbqiuSyMOF0g
1EhwPB/xDaSuqr1kkHeBMThM5SwX/TvRRs0je1k4XGZ4Gy6TP3TjNGMUpHMyoZ55
bzczv5H0rfvRSJPmTZsy0KclvQ==
-----END PRIVATE KEY-----
"""

# What the app configures as WECHAT_PAY_V3_PUBLIC_KEY: the simulated WeChat Pay's public key.
WECHAT_PAY_V3_PUBLIC_KEY = """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmv9pZLV7OGwCMZ7Zwjmh
nHj1C60cZGYTYThUNBmfS5s7whjM8oqYgp/6s3E6HBIUbFEZRtjo1uNV9Fxmb2Wb
yW1gl/+zluleMwZ5Ke6MVrskrk02cf0QndaCPsjMWXPqJJ3x9HN+qi/XX3bFbFnj
vno4C9bsO2wE5ESBI/obEkFPr0Ms1TOSDdW5bgsYdHrVGikay35I4hzR08ryFCnU
p0Y2DxT9R0vj7bvOy2nStxf7on5gmkT8U9hPPYuKSUg4hsRBzKuC/Al451dwB2Tw
2xutmHdTZSjgQ5t8QU4HORnviuNIvLEClG9fiVhb58NiVAb8CJEuSqOtWBwnRj43
kwIDAQAB
-----END PUBLIC KEY-----
"""

# Settings whose sandbox value production must never run with.
SANDBOX_SETTINGS = {
    "WECHAT_APPID": WECHAT_APPID,
    "WECHAT_SECRET": WECHAT_SECRET,
    "WECHAT_PAY_MCH_ID": WECHAT_PAY_MCH_ID,
    "WECHAT_PAY_API_KEY": WECHAT_PAY_API_KEY,
    "WECHAT_PAY_V3_SERIAL_NO": WECHAT_PAY_V3_SERIAL_NO,
    "WECHAT_PAY_V3_KEY": WECHAT_PAY_V3_KEY,
    "WECHAT_PAY_V3_PUBLIC_KEY_ID": WECHAT_PAY_V3_PUBLIC_KEY_ID,
    "ALIPAY_APP_ID": ALIPAY_APP_ID,
}
SANDBOX_KEYS = {
    "ALIPAY_APP_PRIVATE_KEY": ALIPAY_APP_PUBLIC_KEY,
    "ALIPAY_PUBLIC_KEY": ALIPAY_PUBLIC_KEY,
    "WECHAT_PAY_V3_PRIVATE_KEY": WECHAT_PAY_V3_MERCHANT_PUBLIC_KEY,
    "WECHAT_PAY_V3_PUBLIC_KEY": WECHAT_PAY_V3_PUBLIC_KEY,
}


def is_sandbox_key(text: str, sandbox_public_pem: str) -> bool:
    """True when ``text`` is (either half of) the sandbox key pair whose public key is given."""
    modulus = rsa_modulus(text)
    return modulus is not None and modulus == rsa_modulus(sandbox_public_pem)


# What the app configures in development when its environment leaves it unset.
APP_SETTINGS = {
    "WECHAT_APPID": WECHAT_APPID,
    "WECHAT_SECRET": WECHAT_SECRET,
    "WECHAT_PAY_MCH_ID": WECHAT_PAY_MCH_ID,
    "WECHAT_PAY_API_KEY": WECHAT_PAY_API_KEY,
    "WECHAT_PAY_V3_PRIVATE_KEY": WECHAT_PAY_V3_PRIVATE_KEY,
    "WECHAT_PAY_V3_SERIAL_NO": WECHAT_PAY_V3_SERIAL_NO,
    "WECHAT_PAY_V3_KEY": WECHAT_PAY_V3_KEY,
    "WECHAT_PAY_V3_PUBLIC_KEY": WECHAT_PAY_V3_PUBLIC_KEY,
    "WECHAT_PAY_V3_PUBLIC_KEY_ID": WECHAT_PAY_V3_PUBLIC_KEY_ID,
    "ALIPAY_APP_ID": ALIPAY_APP_ID,
    "ALIPAY_APP_PRIVATE_KEY": ALIPAY_APP_PRIVATE_KEY,
    "ALIPAY_PUBLIC_KEY": ALIPAY_PUBLIC_KEY,
    "ALIPAY_SELLER_ID": ALIPAY_SELLER_ID,
}


def fill_unset_settings(config) -> None:
    """Give a sandbox config the SANDBOX-ONLY credentials for every gateway setting its environment left unset.

    A variable that is set, even blank, is left for the config's checks to refuse by name.
    """
    for name, value in APP_SETTINGS.items():
        if not os.environ.get(name) and not getattr(config, name):
            setattr(config, name, value)


def fingerprints() -> tuple[dict[str, str], dict[str, str]]:
    """What ``core.config.SANDBOX_VALUE_FINGERPRINTS`` and ``SANDBOX_KEY_FINGERPRINTS`` must hold."""
    values = {name: sandbox_fingerprint(value) for name, value in SANDBOX_SETTINGS.items()}
    keys = {name: sandbox_fingerprint(str(rsa_modulus(public_pem))) for name, public_pem in SANDBOX_KEYS.items()}
    return values, keys
