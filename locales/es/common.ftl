# Compartido por todas las páginas: el marco, el selector de idioma, las páginas de error.
language-name = Español
language-switch-label = Idioma
skip-to-content = Ir al contenido principal
signed-in-as = Sesión iniciada como { $email }
sign-out = Cerrar sesión
footer-terms = Condiciones del servicio
footer-support = Contactar con soporte
footer-help = Ayuda
support-phone = Llámenos al { $phone }
support-hours = Horario: { $hours }
language-unknown = Todavía no ofrecemos ese idioma.

error-bad-request-heading = No pudimos usar esa solicitud
error-csrf-heading = Este formulario ha caducado
error-csrf-body = Por su seguridad, los formularios solo funcionan durante un tiempo y solo en el navegador que los abrió. Vuelva atrás, recargue la página e inténtelo de nuevo.
error-not-found-heading = Página no encontrada
error-not-found-body = No hay nada en esta dirección.
error-internal-heading = Algo salió mal de nuestro lado
error-internal-body = Nada de lo que usted hizo causó esto, y no se cambió nada. Inténtelo de nuevo en un momento.
error-go-home = Ir a la página de inicio
footer-nav-label = Enlaces del sitio
banner-label = Un sitio oficial del Gobierno de Estados Unidos
banner-how = Así es como usted puede verificarlo
banner-dotgov-title = Los sitios web oficiales usan .gov
banner-dotgov-body = Un sitio web .gov pertenece a una organización oficial del Gobierno de Estados Unidos.
banner-https-title = Los sitios web seguros .gov usan HTTPS
banner-https-body = Un candado o https:// significa que usted se conectó de forma segura a un sitio web .gov. Comparta información sensible solo en sitios web oficiales y seguros.
