const ref = document.referrer;
document.write("<a href='" + ref + "'>back</a>");
